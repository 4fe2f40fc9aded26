"""Pure rules and entities of ParkPass: no I/O, no SDKs, no clock reads."""
