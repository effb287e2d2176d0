"""The project file: a song with its quantize, mixer and transport settings in one file."""

from engine.public import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "project": ("Project", "is_project_file", "load_project", "save_project"),
    },
)
