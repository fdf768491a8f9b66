"""moto_server, without moto's record of every DynamoDB object it ever made.

moto keeps each model instance it creates in a class-level list (`instances_tracked`, read only
by its /moto-api/data.json debugging view). Its TransactWriteItems deep-copies the whole table
for every write, to roll back on failure, and each copy lands in that list for good: about 7 MB
per transaction on a table of a few thousand items, so a benchmark of a thousand posts runs the
machine out of memory. Here DynamoDB objects are simply not recorded; everything else, the
DynamoDB behaviour included, is moto's own.

And with Step Functions executions on (the cloud-path test runs the template's send state
machine in moto's interpreter): StartExecution deep-copies the state machine, its executions
included, and an execution still running holds a thread's lock, which cannot be copied, so a
second execution started while the first waits fails with a 500. Here an execution is shared
by the copy instead (the copy only carries the state machine's own settings into the new one).

Usage: python3 infra/moto_server.py [moto_server arguments, e.g. -H 127.0.0.1 -p 5000]
"""

import sys

import moto.core.common_models as common_models
from moto.server import main

_tracked_new = common_models.BaseModel.__new__


def _new(cls, *args, **kwargs):
    if cls.__module__.startswith("moto.dynamodb"):
        return object.__new__(cls)
    return _tracked_new(cls, *args, **kwargs)


common_models.BaseModel.__new__ = staticmethod(_new)

try:
    from moto.stepfunctions.parser.backend.execution import Execution

    Execution.__deepcopy__ = lambda self, memo: self
except ImportError:  # a moto without the interpreter: nothing to mend
    pass

if __name__ == "__main__":
    sys.exit(main())
