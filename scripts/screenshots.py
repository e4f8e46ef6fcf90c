"""Screenshots of the running demo for the README: the Overview, idle trends, running
a recipe, a run with the PLC lost (on the Overview), and the recipe editor.

Offscreen, with the real simulator, engine and embedded database in a temporary data
directory. Run it whenever the UI changes:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget

from ald_gui.cli.headless_cmd import DEMO_STATE
from ald_gui.config.load import load_config
from ald_gui.config.models import PollSettings
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.ui.main_window import CloseChoice, MainWindow


def _wait(app: QApplication, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if callable(until) and until():
            return
        time.sleep(0.01)


def _cycles() -> Recipe:
    """Al2O3 cycles without the demo's heat-up, so the run panel shows them at once."""
    cycle = (
        Step.of(Pulse(valve="Valve 1", ms=20)),
        Step.of(Purge(ms=1500, flow_sccm=20)),
        Step.of(Pulse(valve="Valve 2", ms=30)),
        Step.of(Purge(ms=1500, flow_sccm=20)),
    )
    return Recipe(
        name="Al2O3, 200 cycles", author="alice", steps=(Step.of(Loop(count=200, steps=cycle)),)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--theme", default="dark")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the stall is on purpose
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    config = load_config().model_copy(update={"poll": PollSettings(interval_s=0.2)})
    with tempfile.TemporaryDirectory() as tmp, Simulator(config, port=0) as sim:
        for key, value in DEMO_STATE.items():
            sim.model.set_value(key, value)
        plc = config.plc.model_copy(update={"port": sim.port})
        demo = config.model_copy(update={"plc": plc})
        settings = QSettings(str(Path(tmp) / "console.ini"), QSettings.Format.IniFormat)
        settings.setValue("look/theme", args.theme)
        Path(tmp).chmod(0o711)  # under root, the server account passes to its cluster
        engine = Engine(demo, data_dir=Path(tmp) / "data")
        window = MainWindow(
            engine,
            settings=settings,
            confirm=lambda *_: True,
            close_ask=lambda *_: CloseChoice.END_RUN,
        )
        window.resize(1600, 1000)
        window.show()
        engine.open()
        # The throwaway database's first administrator, logged in as the login dialog
        # would (it stays closed: someone is logged in before the engine is opened).
        password = secrets.token_urlsafe(16)
        engine.accounts.create_first_administrator("alice", "Alice Martin", password)
        window.accounts.session.logged_in(engine.log_in("alice", password))
        window.engine_opened()
        window.panel.operator.setText("alice")
        _wait(app, 20)  # heaters warming up make the trends worth looking at
        window.grab().save(str(args.out / "overview.png"))  # the home screen
        window.screens.setCurrentWidget(window.trends)
        _wait(app, 1)
        window.grab().save(str(args.out / "idle.png"))

        window.panel.note.setText("wafer 17")
        window.recipes.editor.open_recipe(_cycles())
        saved = window.recipes.save()
        assert saved is not None
        window.panel.recipe.choose(saved.name, saved.version)
        window.panel.start_button.click()
        _wait(app, 16)
        window.grab().save(str(args.out / "running.png"))

        sim.stall()  # a run with the PLC lost, on the home screen
        window.screens.setCurrentWidget(window.overview)
        _wait(app, 5, until=lambda: window.health.state("plc") == "fault")
        _wait(app, 1)
        window.grab().save(str(args.out / "plc-lost.png"))
        sim.clear_faults()
        _wait(app, 5, until=lambda: window.health.state("plc") == "ok")
        dock = window.findChild(QDockWidget, "dock-recipes")
        dock.raise_()
        editor = window.recipes.editor
        window.recipes.open_version("Al2O3/ZnO laminate (supercycle)", 1)
        editor.tree.setCurrentItem(editor.tree.items["steps[6].loop.steps[0].loop.steps[2]"])
        editor.fields.boxes["ms"].setValue(6000)  # beyond the machine's longest pulse
        editor.check_now()
        _wait(app, 1)
        window.grab().save(str(args.out / "recipes.png"))
        window.close()
    print(f"wrote {', '.join(p.name for p in sorted(args.out.glob('*.png')))} in {args.out}")


if __name__ == "__main__":
    main()
