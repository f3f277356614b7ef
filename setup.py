"""Builds the compiled part of the `evcs` Python package with CMake (metadata: pyproject.toml).

CMake builds libevcs (the C ABI) and the pybind11 module evcs._native; both are placed in the
package directory, where _native finds libevcs through its $ORIGIN run path.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        package_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.run(
            [
                "cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release",
                "-DEVCS_BUILD_LUA=OFF", "-DEVCS_BUILD_TESTS=OFF",
            ],
            check=True,
        )
        jobs = os.environ.get("EVCS_BUILD_JOBS", "2")
        subprocess.run(
            ["cmake", "--build", str(build_dir), "--target", "evcs_native", "-j", jobs], check=True
        )
        package_dir.mkdir(parents=True, exist_ok=True)
        for module in (build_dir / "python" / "evcs").glob("_native*.so"):
            shutil.copy2(module, package_dir / module.name)
        # The C ABI library under its SONAME, which is what _native's loader looks for.
        for library in (build_dir / "bindings").glob("libevcs.so.*.*.*"):
            shutil.copy2(library, package_dir / "libevcs.so.0")


setup(ext_modules=[CMakeExtension("evcs._native")], cmdclass={"build_ext": CMakeBuild})
