"""Entry points (Lambda, WSGI, CLI) and the wiring of ports to adapters."""
