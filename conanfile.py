"""Conan 2 recipe for ccl, a header-only C++17 library for compositional contrastive learning.

    conan create . -pr:a packaging/conan/profiles/offline        # Eigen/Boost from the system
    conan create . -o "&:with_cuda=True"                          # also export ccl::cuda

Consumers get the same CMake package as a plain install: `find_package(ccl CONFIG REQUIRED)`
and the targets ccl::ccl (and ccl::cuda with `with_cuda`).
"""

import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load

required_conan_version = ">=2.0"


class CclConan(ConanFile):
    name = "ccl"
    license = "Apache-2.0"
    description = ("Compositional contrastive learning (CVPR 2021 CCL): header-only C++17 "
                   "contrastive and distillation losses, CPU and CUDA backends")
    topics = ("contrastive-learning", "distillation", "header-only", "eigen", "cuda")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_cuda": [True, False]}
    default_options = {"with_cuda": False, "boost/*:header_only": True}
    exports_sources = "include/*", "cmake/ccl-conan.cmake", "LICENSE*"
    no_copy_source = True

    def set_version(self):
        # One source of truth: include/ccl/core/version.hpp (a test ties it to CMakeLists.txt).
        text = load(self, os.path.join(self.recipe_folder, "include", "ccl", "core", "version.hpp"))
        self.version = re.search(r'#define CCL_VERSION_STRING "([^"]+)"', text).group(1)

    def requirements(self):
        # Hana is the only Boost library ccl uses, and it is header-only.
        self.requires("eigen/3.4.0", transitive_headers=True)
        self.requires("boost/[>=1.74 <2]", transitive_headers=True)

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 17)

    def package_id(self):
        # Header-only: one package for every configuration. with_cuda only changes the targets
        # exported in package_info, not the files.
        self.info.clear()

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        for pattern in ("*.hpp", "*.cuh", "*.h"):
            copy(self, pattern, os.path.join(self.source_folder, "include"),
                 os.path.join(self.package_folder, "include"))
        copy(self, "ccl-conan.cmake", os.path.join(self.source_folder, "cmake"),
             os.path.join(self.package_folder, "lib", "cmake", "ccl"))

    def _from_conan(self, name):
        # False for a dependency satisfied by the profile's [platform_requires]: Conan then
        # generates no CMake target for it and the build module finds the system's instead.
        try:
            return self.dependencies[name].package_folder is not None
        except KeyError:
            return False

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "ccl")
        self.cpp_info.set_property("cmake_target_name", "ccl::all")
        # Included after the targets are defined: takes Eigen/Boost from the system when the
        # profile provides them through [platform_requires], and the CUDA toolkit for ccl::cuda
        # (not a Conan package), linking them exactly as the CMake install's package config does.
        self.cpp_info.set_property("cmake_build_modules",
                                   [os.path.join("lib", "cmake", "ccl", "ccl-conan.cmake")])

        core = self.cpp_info.components["ccl"]
        core.set_property("cmake_target_name", "ccl::ccl")
        core.bindirs = []
        core.libdirs = []
        core.requires = [r for name, r in (("eigen", "eigen::eigen"), ("boost", "boost::headers"))
                         if self._from_conan(name)]

        if self.options.with_cuda:
            cuda = self.cpp_info.components["cuda"]
            cuda.set_property("cmake_target_name", "ccl::cuda")
            cuda.bindirs = []
            cuda.libdirs = []
            cuda.requires = ["ccl"]
