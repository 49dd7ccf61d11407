"""Afterglow: mood and side-effect logging between ketamine infusions."""
