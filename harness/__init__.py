"""The conformance harness: runs the executable specification in ``spec/`` against any
implementation of the ``Pro.MP`` API, and knows that implementation only through its public
names, the processes it starts and the wire protocol."""
