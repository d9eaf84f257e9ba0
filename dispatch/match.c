/* match.c -- in progress */
