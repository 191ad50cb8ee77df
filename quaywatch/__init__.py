"""quaywatch."""
