"""The record of runs: the run store, its migrations and the retry of the races of processes sharing it."""
