"""Web push: VAPID keys, sending one push, the reminder dispatcher and the worker around it."""
