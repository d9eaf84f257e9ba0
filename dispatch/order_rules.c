/* order_rules.c -- in progress */
