-- An acknowledgement now ends: until ack_until it holds back repeat notifications of the alert
-- (alerter/delivery/stages.py:acknowledged); DELETE /api/v1/alerts/<id>/ack withdraws it.
-- Acks made before this migration have no end and hold nothing back.
ALTER TABLE alert_instance ADD COLUMN ack_until timestamptz;
