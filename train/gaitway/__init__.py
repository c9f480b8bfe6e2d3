"""gaitway training and evaluation tools (run with Debian's /usr/bin/python3)."""
