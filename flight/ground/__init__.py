"""The ground station: link to a satellite, commanding, live decoding, archive and history."""
