# A NixOS module for kt's guest (nix/guest.nix): a Rust-enabled kernel and an out-of-tree Rust
# module, loaded at boot, so it is in lsmod before kt's first test. Use it with
#   nix build ./nix#vm-rust-module && kt run --backend nixos --nixos-vm ./result ...
# or add it to your own guest: (import ./nix/flake.nix).lib.mkGuest { modules = [ this file ]; }.
{ config, ... }:

let
  # callPackage of the guest's own kernel set: the module is built against the very kernel
  # (with Rust, after boot.kernelPatches below) that boots.
  rustKtHello = config.boot.kernelPackages.callPackage ./module.nix { };
in
{
  # nixos/modules/system/boot/kernel.nix applies boot.kernelPatches to boot.kernelPackages;
  # features.rust = true makes the kernel build with CONFIG_RUST=y (kernels ≥ 6.7).
  boot.kernelPatches = [
    {
      name = "rust";
      patch = null;
      features.rust = true;
    }
  ];

  # The seed workflow for out-of-tree modules: the package puts the .ko under
  # lib/modules/<version>/ (extraModulePackages links it into the system's module tree),
  # and boot.kernelModules loads it at boot (systemd-modules-load).
  boot.extraModulePackages = [ rustKtHello ];
  boot.kernelModules = [ "rust_kt_hello" ];
}
