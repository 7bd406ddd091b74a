import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from app import render  # noqa: E402


class RenderTest(unittest.TestCase):
    def test_welcome(self) -> None:
        self.assertEqual(render("welcome", "Ada"), "Welcome, Ada!")

    def test_unknown_kind(self) -> None:
        with self.assertRaises(ValueError):
            render("spam", "Ada")


if __name__ == "__main__":
    unittest.main()
