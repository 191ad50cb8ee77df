"""From a forecast to a published threshold crossing: probabilities, the decision rule, the champion."""
