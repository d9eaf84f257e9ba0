/* model_json.c -- in progress */
