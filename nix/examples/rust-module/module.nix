# The Rust module as a package of a kernel's module set: build it with
#   config.boot.kernelPackages.callPackage ./module.nix { }
# so it is compiled against exactly the kernel the guest boots. Built the way nixpkgs builds
# its own Rust template module (pkgs/os-specific/linux/rust-out-of-tree-module/default.nix):
# the kernel's moduleBuildDependencies (which bring rustc and bindgen when the kernel has Rust),
# KDIR pointing at the kernel's build tree, and `make modules_install` into $out.
{
  lib,
  kernel,
  kernelModuleMakeFlags ? (kernel.makeFlags or [ ]),
}:

kernel.stdenv.mkDerivation {
  pname = "rust-kt-hello";
  version = "0.1";

  src = lib.fileset.toSource {
    root = ./.;
    fileset = lib.fileset.unions [
      ./Kbuild
      ./Makefile
      ./rust_kt_hello.rs
    ];
  };

  nativeBuildInputs = kernel.moduleBuildDependencies;
  makeFlags = kernelModuleMakeFlags ++ [ "KDIR=${kernel.dev}/lib/modules/${kernel.modDirVersion}/build" ];

  installFlags = [ "INSTALL_MOD_PATH=${placeholder "out"}" ];
  installTargets = [ "modules_install" ];

  meta = {
    description = "kt example: an out-of-tree Linux kernel module written in Rust";
    license = lib.licenses.gpl2Only;
    platforms = [ "x86_64-linux" ];
    # Rust in the kernel needs CONFIG_RUST=y, which nixpkgs turns on for kernels ≥ 6.7 when a
    # kernel patch asks for features.rust (see nixos.nix).
    broken = !(kernel.withRust or false);
  };
}
