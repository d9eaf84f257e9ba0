/* auth.c -- in progress */
