{
  description = "kt guest: a NixOS VM that runs fstests, for `kt run --backend nixos`";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # Your fstests checkout. The default is an empty placeholder (./fstests-src), which means
    # "use nixpkgs' xfstests"; override it with
    #   nix build ./nix#vm --override-input fstests path:/home/me/src/xfstests-dev
    fstests = {
      url = "path:./fstests-src";
      flake = false;
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      fstests,
    }:
    let
      system = "x86_64-linux";
      # The placeholder has no `check` script; a real checkout has.
      fstestsSrc = if builtins.pathExists "${fstests}/check" then fstests else null;

      # A kt guest with more modules of your own (e.g. { kt.disks = [ ... ]; }).
      mkGuest =
        {
          modules ? [ ],
          fstestsSrc ? null,
        }:
        nixpkgs.lib.nixosSystem {
          modules = [
            ./guest.nix
            {
              nixpkgs.hostPlatform = system;
              kt.fstests.src = fstestsSrc;
            }
          ]
          ++ modules;
        };

      guest = mkGuest { inherit fstestsSrc; };
    in
    {
      nixosModules.default = ./guest.nix;
      nixosModules.kt-guest = ./guest.nix;
      # A Rust-enabled kernel with an out-of-tree Rust module loaded at boot (examples/rust-module).
      nixosModules.rust-module-example = ./examples/rust-module/nixos.nix;

      nixosConfigurations.kt-guest = guest;

      packages.${system} = {
        # result/bin/run-kt-guest-vm: what `kt run --backend nixos --nixos-vm ./result` starts.
        vm = guest.config.system.build.vm;
        # The same guest with examples/rust-module: lsmod shows rust_kt_hello before the first test.
        vm-rust-module =
          (mkGuest {
            inherit fstestsSrc;
            modules = [ ./examples/rust-module/nixos.nix ];
          }).config.system.build.vm;
        default = self.packages.${system}.vm;
        fstests = guest.config.kt.fstests.package;
      };

      lib = { inherit mkGuest; };
    };
}
