"""Device drivers built on the HAL: the serial radio and the GNSS receiver."""
