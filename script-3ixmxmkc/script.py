
import time
from Pro.MP import *
nested = """
import time
from Pro.MP import *
m = ProManager()
m.startWorker()
m.evalPythonCode(ProWorker_All, "import time\\ntime.sleep(600)")
while True:
    m.processMessages()
    time.sleep(0.02)
"""
m = ProManager()
m.startWorker()
m.startWorker()
m.evalPythonCode(ProWorker_All, nested)
print("up", flush=True)
while True:
    m.processMessages()
    time.sleep(0.02)
