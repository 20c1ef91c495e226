"""The seed's Celery app and long_task (shared/seeds: "FastAPI gateway + Celery worker"), as the
tests run it behind Switchyard's gateway. Broker and result backend: CELERY_BROKER_URL. A step lasts
LONG_TASK_STEP_SECONDS (the seed's 1 s) so the tests stay short; `fails` raises, for FAILURE."""
import math
import os
import time

from celery import Celery

url = os.environ["CELERY_BROKER_URL"]
app = Celery("tasks", backend=url, broker=url)
app.conf.update(broker_transport_options={"visibility_timeout": 3600})
STEP = float(os.environ.get("LONG_TASK_STEP_SECONDS", "1"))


@app.task(bind=True, name="long_task")
def long_task(self, total):
    message = ""
    for i in range(total):
        message = "Percentage completion {0} ...".format(math.ceil(i / total * 100))
        self.update_state(state="PROGRESS", meta={"current": i, "total": total, "status": message})
        time.sleep(STEP)
    return {"current": total, "total": total, "status": "Task completed!", "result": total}


@app.task(name="add")
def add(x, y):
    return x + y


@app.task(name="fails")
def fails(message):
    raise ValueError(message)
