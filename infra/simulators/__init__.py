"""Local stand-ins for the providers' servers, speaking their real HTTP protocols. Never deployed."""
