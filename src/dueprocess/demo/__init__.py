"""The demo: the demo microblog, and the July 2020 Hong Kong scenario, generated from a seed."""
