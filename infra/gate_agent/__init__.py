"""The reference gate agent: what a gate vendor runs beside the barrier controller."""
