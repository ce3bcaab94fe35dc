"""The edge's task supervisor: restarts failed loops, stops permanent failures, awaits all."""

from __future__ import annotations

import asyncio

import pytest

from edge.supervisor import BackoffPolicy
from edge.tasks import TaskState, TaskSupervisor, is_permanent

FAST = BackoffPolicy(base_s=0.01, cap_s=0.04, healthy_after_s=0.5)


class Permanent(Exception):
    """Stands for refused credentials."""


def test_tasks_restart_a_failing_loop_with_backoff_and_keep_the_others() -> None:
    runs = 0
    ticks = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 4:
            message = f"failure {runs}"
            raise RuntimeError(message)
        await asyncio.Event().wait()

    async def steady() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def main() -> TaskSupervisor:
        async with TaskSupervisor(policy=FAST, jitter=lambda: 0.0) as tasks:
            tasks.start("flaky", flaky)
            tasks.start("steady", steady)
            for _ in range(400):
                await asyncio.sleep(0.01)
                if runs >= 4:
                    break
            assert tasks.components["flaky"].state is TaskState.RUNNING
            assert tasks.down() == []
        return tasks

    tasks = asyncio.run(main())
    assert runs == 4
    assert tasks.components["flaky"].restarts == 3
    assert tasks.components["flaky"].error == "RuntimeError: failure 3"
    assert ticks > 0
    # Leaving the block cancelled and awaited everything.
    assert {c.state for c in tasks.components.values()} == {TaskState.STOPPED}


def test_tasks_leave_a_permanent_failure_stopped_and_report_it() -> None:
    runs = 0

    async def refused() -> None:
        nonlocal runs
        runs += 1
        raise ExceptionGroup("links", [Permanent("bad credentials")])

    async def main() -> dict[str, dict[str, object]]:
        async with TaskSupervisor(permanent=(Permanent,), policy=FAST) as tasks:
            task = tasks.start("publisher", refused)
            await asyncio.wait_for(task, timeout=5)
            assert tasks.down() == ["publisher"]
            return tasks.report()

    report = asyncio.run(main())
    assert runs == 1
    assert report["publisher"]["state"] == "failed"
    assert "bad credentials" in str(report["publisher"]["error"])


def test_tasks_backoff_doubles_and_starts_afresh_after_a_healthy_run() -> None:
    now = [0.0]
    delays: list[float] = []
    runs = 0
    sixth = asyncio.Event()

    async def worker() -> None:
        nonlocal runs
        runs += 1
        if runs == 4:
            now[0] += 10.0  # the fourth run stays up past healthy_after_s
        if runs == 6:
            sixth.set()
            await asyncio.Event().wait()
        message = "lost"
        raise RuntimeError(message)

    async def record(delay_s: float) -> None:
        delays.append(delay_s)
        await asyncio.sleep(0)

    async def main() -> None:
        policy = BackoffPolicy(base_s=1.0, cap_s=60.0, healthy_after_s=5.0)
        async with TaskSupervisor(
            policy=policy, clock=lambda: now[0], jitter=lambda: 0.999999, sleep=record
        ) as tasks:
            tasks.start("worker", worker)
            await asyncio.wait_for(sixth.wait(), timeout=5)

    asyncio.run(main())
    assert [round(d) for d in delays] == [1, 2, 4, 1, 2]


def test_tasks_cancel_of_one_task_stops_it_only() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def main() -> TaskSupervisor:
        async with TaskSupervisor(policy=FAST) as tasks:
            person = tasks.start("person-p1", forever)
            tasks.start("publisher", forever)
            person.cancel()
            await asyncio.gather(person, return_exceptions=True)
            assert tasks.components["person-p1"].state is TaskState.STOPPED
            assert tasks.components["publisher"].state is TaskState.RUNNING
        return tasks

    asyncio.run(main())


def test_tasks_refuse_a_start_outside_the_block() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="async with"):
        TaskSupervisor().start("x", nothing)
    assert is_permanent(ExceptionGroup("g", [Permanent()]), (Permanent,))
    assert not is_permanent(ExceptionGroup("g", [Permanent(), ValueError()]), (Permanent,))
