/* geometry.c -- in progress */
