"""The seed's FastAPI + Celery gateway, rebuilt for the gateway bench (bench/gateway.ts).

As the seed documents it (shared/seeds/000: main.py and queue_celery/tasks.py): POST /celery/execute
{"total": n} sends `long_task` by name with Celery's send_task and answers 202 {task_id, status};
GET /celery/collect?task_id=... reads the task's AsyncResult from the Redis result backend. Redis is
both broker and result backend, as in the seed. Run with Debian's Python and packages:

    REDIS_URL=redis://127.0.0.1:6379/0 /usr/bin/python3 -m uvicorn seed_gateway:app \
        --app-dir bench/peers --host 127.0.0.1 --port 8001 --no-access-log

Only the web service is here: the bench measures the gateway, and no Celery worker runs (sent tasks
wait in the `celery` list). Access logs are off because Switchyard's gateway runs with LOG_LEVEL=warn.
"""

import math
import os
import time

from celery import Celery
from fastapi import Body, FastAPI, HTTPException
from pydantic import BaseModel

redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

celery_app = Celery("tasks", backend=redis_url, broker=redis_url)
celery_app.conf.update(broker_transport_options={"visibility_timeout": 3600})


@celery_app.task(bind=True, name="long_task")
def long_task(self, total):
    message = ""
    for i in range(total):
        message = "Percentage completion {0} ...".format(math.ceil(i / total * 100))
        self.update_state(state="PROGRESS", meta={"current": i, "total": total, "status": message})
        time.sleep(1)
    return {"current": total, "total": total, "status": "Task completed!", "result": total}


app = FastAPI(title="FastAPI Job Queue Example", version="0.0.1")


class ExecuteResp(BaseModel):
    task_id: str
    status: str


class ResultResp(BaseModel):
    current: int
    total: int
    status: str
    result: int = None


class ErrorResp(BaseModel):
    detail: str


@app.post("/celery/execute", response_model=ExecuteResp, status_code=202, tags=["celery"])
async def execute_celery_task(total: int = Body(..., ge=1, le=50, embed=True)):
    task = celery_app.send_task("long_task", args=[total])
    return {"task_id": task.id, "status": "created"}


@app.get(
    "/celery/collect",
    response_model=ResultResp,
    responses={500: {"model": ErrorResp}},
    tags=["celery"],
)
async def collect_celery_result(task_id: str):
    resp = long_task.AsyncResult(task_id)
    if resp.status == "FAILURE":
        raise HTTPException(status_code=500, detail="Fails to collect result")
    return resp.result


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
