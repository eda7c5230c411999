"""The six tuner Lambda handlers: parse the event, call one core function, return JSON."""
