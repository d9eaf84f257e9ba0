/* order_fsm.c -- in progress */
