"""Servers the harness' own tests point the contract suite at, none of them the product's mock.

* ``seeded``       a mutating reverse proxy: a clean server behind it, seeded violations in front
* ``independent``  a small Tasks API of its own (not the mock's model): honours every documented
  rule, chooses otherwise where the pages are silent
* ``hanging``      answers reads, never a run
* ``serve``        serving any of them on 127.0.0.1 in a background thread
"""
