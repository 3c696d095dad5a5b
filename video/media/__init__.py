"""Test media for the peers that are not browsers: a video pattern that says who sent it and which
frame it is (``pattern``), an audio tone (``tone``). Used by the tests, the vehicle agent's
self-test, the stills and the benchmark."""
