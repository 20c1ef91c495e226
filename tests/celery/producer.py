"""A Celery producer as the seeds write one, for the tests: plain Celery code, no Switchyard import.
Usage: producer.py <broker url> <what>; prints one JSON line with what it saw."""
import json
import sys
import time

from celery import Celery

url, what = sys.argv[1], sys.argv[2]
app = Celery("producer", broker=url, backend=url)


def report(**fields):
    print(json.dumps(fields), flush=True)


def watch_progress(queue):
    """Sends long_task(6) to `queue` and reports every `current` seen in PROGRESS, then the result."""
    result = app.send_task("long_task", args=[6], queue=queue)
    seen = []
    deadline = time.time() + 30
    while not result.ready() and time.time() < deadline:
        # One read of the backend: state and info read apart can straddle the task's end.
        meta = result.backend.get_task_meta(result.id)
        if meta["status"] == "PROGRESS" and (not seen or seen[-1] != meta["result"]["current"]):
            seen.append(meta["result"]["current"])
        time.sleep(0.05)
    report(progress=seen, result=result.get(timeout=30))


if what == "add":
    report(result=app.send_task("add", args=[4, 6], queue="node").get(timeout=30))
elif what == "kwargs":
    report(result=app.send_task("add", kwargs={"x": 1, "y": 2}, queue="node").get(timeout=30))
elif what == "summary_stats":
    report(result=app.send_task("summary_stats", args=[[1, 2, 3, 4, 5]], queue="r").get(timeout=30))
elif what == "progress":
    watch_progress("node")
elif what == "r_progress":
    watch_progress("r")
elif what == "time_limit":
    try:
        app.send_task("long_task", args=[50], queue="node", time_limit=1).get(timeout=30)
        report(raised=None)
    except Exception as error:
        report(raised=type(error).__name__, message=str(error))
elif what == "failure":
    try:
        app.send_task("lm_fit", args=[[1, 2, 3], {"x": [1, 2, 3, 4]}], queue="r").get(timeout=30)
        report(raised=None)
    except Exception as error:  # .get() re-raises the task's exception
        report(raised=type(error).__name__, message=str(error))
elif what == "unknown":
    try:
        app.send_task("no_such_task", args=[1], queue="node").get(timeout=30)
        report(raised=None)
    except Exception as error:
        report(raised=type(error).__name__, message=str(error))
elif what == "retried":
    result = app.send_task("add", args=[1, 1], queue="node", retries=2)
    report(result=result.get(timeout=30), task_id=result.id)
elif what == "countdown":
    sent = time.time()
    result = app.send_task("add", args=[2, 2], queue="node", countdown=1.5)
    report(result=result.get(timeout=30), waited=time.time() - sent)
elif what == "chain":
    from celery import chain, signature

    add = lambda *args: signature("add", args=args, queue="node")  # noqa: E731
    report(result=chain(add(2, 2), add(4), add(10)).apply_async().get(timeout=30))
elif what == "polyglot_chain":
    from celery import chain, signature

    steps = chain(
        signature("make_dataset", args=(20, 2, 1), queue="node"),
        signature("lm_fit", queue="r"),
        signature("fit_report", queue="node"),
    )
    report(result=steps.apply_async().get(timeout=60))
elif what == "group":
    from celery import group, signature

    report(result=group(signature("add", args=(1, 1), queue="node"), signature("add", args=(2, 2), queue="node")).apply_async().get(timeout=30))
elif what == "slow":
    result = app.send_task("long_task", args=[15], queue="node")
    print(json.dumps({"task_id": result.id}), flush=True)
    report(result=result.get(timeout=60), state=result.state)
