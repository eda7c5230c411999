"""Local mode: run the real state machine and tuner Lambdas on this machine, no AWS account."""
