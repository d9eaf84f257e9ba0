/* registry.c -- in progress */
