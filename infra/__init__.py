"""Adapters: they implement the ports that handlers declare."""
