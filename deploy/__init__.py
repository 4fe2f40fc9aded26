"""Building and checking the deployment package (`make package`)."""
