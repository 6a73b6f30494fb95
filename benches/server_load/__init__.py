"""Load generator for the reference server: relay throughput, latency, idle connections.

Run by hand (it starts its own server process on loopback unless ``--url`` is given)::

    python -m benches.server_load throughput --pairs 50 --messages 100000
    python -m benches.server_load latency --rate 2000 --seconds 20
    python -m benches.server_load idle --connections 10000
"""
