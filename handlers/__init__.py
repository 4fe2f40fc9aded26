"""Use cases. Each depends on the ports it declares, never on an SDK or a framework."""
