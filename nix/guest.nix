# kt-guest: a NixOS VM that runs fstests for kt (`kt run --backend nixos`), and that a kernel
# developer can also start by hand (./result/bin/run-kt-guest-vm).
#
# It keeps the guest contract of kt's Debian image (guest/kt-init):
#   - kernel console on ttyS0; "kt-init: ready" printed there once sshd can be reached;
#   - root logs in over ssh with the key in kt.sshkey=<base64 ed25519 blob> (kernel cmdline),
#     either through `sshd -i` on the virtio-serial port named kt.ssh, or through a listening
#     sshd on 10.0.2.15:22 (QEMU user networking, host forward on 127.0.0.1);
#   - TEST/SCRATCH disks at /dev/disk/by-id/virtio-test and /dev/disk/by-id/virtio-scratch;
#   - the fstests tree at /var/lib/xfstests; fsgqa, fsgqa2 and 123456-fsgqa users;
#   - pvpanic_pci loaded, so a panic ends QEMU (or pauses it for a memory dump).
#
# Options of nixpkgs this module relies on (nixos/modules/virtualisation/qemu-vm.nix unless
# said otherwise): virtualisation.emptyDiskImages (list of sizes in MiB; the run script creates
# empty<i>.qcow2 in $TMPDIR and attaches them without a serial), virtualisation.graphics,
# virtualisation.memorySize, virtualisation.cores, virtualisation.useNixStoreImage,
# virtualisation.qemu.guestAgent.enable, networking.hostName (-> system.name -> the run script
# is bin/run-<system.name>-vm and honours NIXPKGS_QEMU_KERNEL_<system.name with every
# non-alphanumeric character replaced by "_">), boot.crashDump.* (nixos/modules/misc/crashdump.nix).
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:

let
  inherit (lib) mkDefault mkIf mkOption types;
  cfg = config.kt;

  diskNames = map (d: d.name) cfg.disks;

  # The nixpkgs package with the user's checkout as its source: same patches, same wrapper.
  fstestsFromSrc =
    src:
    pkgs.xfstests.overrideAttrs (_old: {
      version = "local";
      src = lib.cleanSource src;
    });

  sshd = "${pkgs.openssh}/bin/sshd";

  # qemu-vm.nix attaches, in this order: the root disk (serial "root"), the Nix store image
  # when useNixStoreImage (no serial), then one disk per emptyDiskImages entry (no serial).
  # Only the first group has a serial, so kt names the serial-less disks by their position.
  serialLessBefore = if config.virtualisation.useNixStoreImage then 1 else 0;

  # udev PROGRAM naming the serial-less empty disks by position (see kt-disk-name.sh).
  diskNamer = pkgs.writeShellScript "kt-disk-name" ''
    export KT_DISK_NAMES=${lib.escapeShellArg (toString diskNames)}
    export KT_DISK_SKIP=${toString serialLessBefore}
    KT_ROOT_DEV=$(${pkgs.util-linux}/bin/mountpoint -d / 2>/dev/null || true)
    export KT_ROOT_DEV
    exec ${pkgs.bash}/bin/bash ${./kt-disk-name.sh} "$@"
  '';

  # The same settings as guest/kt_sshd_config of the Debian image. UsePAM no: root has an
  # empty password in this throw-away VM (see users.users.root below), which sshd accepts
  # for key logins; password logins stay off.
  sshdConfig = pkgs.writeText "kt_sshd_config" ''
    Port 22
    ListenAddress 0.0.0.0
    HostKey /run/kt/ssh_host_ed25519_key
    PidFile /run/kt/sshd.pid
    PermitRootLogin prohibit-password
    AuthorizedKeysFile /run/kt/authorized_keys
    PubkeyAuthentication yes
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    UsePAM no
    StrictModes no
    UseDNS no
    PrintMotd no
    PrintLastLog no
    LoginGraceTime 0
    ClientAliveInterval 0
    # kt multiplexes every command as a channel of one connection.
    MaxSessions 256
    MaxStartups 64
    AcceptEnv *
    # Commands run as `bash -c`; do not depend on the login-shell setup for PATH.
    SetEnv PATH=/run/wrappers/bin:/run/current-system/sw/bin
    Subsystem sftp internal-sftp
  '';

  # Services whose children run the tests: no task cap (fsstress forks hundreds), core dumps
  # allowed (check reports "[dumped core]"), SIGPIPE at its default like on a plain shell.
  sessionServiceConfig = {
    TasksMax = "infinity";
    LimitCORE = "infinity";
    IgnoreSIGPIPE = false;
  };
in
{
  imports = [ "${modulesPath}/virtualisation/qemu-vm.nix" ];

  options.kt = {
    fstests.src = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "/home/me/src/xfstests-dev";
      description = ''
        A checkout of fstests (xfstests-dev) to build instead of the nixpkgs release. It is built
        with the nixpkgs xfstests derivation (same patches); use a clean tree (`git clean -dfx`).
      '';
    };

    fstests.package = mkOption {
      type = types.package;
      default = if cfg.fstests.src == null then pkgs.xfstests else fstestsFromSrc cfg.fstests.src;
      defaultText = lib.literalExpression "if kt.fstests.src == null then pkgs.xfstests else pkgs.xfstests built from kt.fstests.src";
      description = "The fstests package; its lib/xfstests tree is linked at /var/lib/xfstests.";
    };

    disks = mkOption {
      type = types.listOf (
        types.submodule {
          options.name = mkOption {
            type = types.strMatching "[A-Za-z0-9_-]+";
            description = "The disk appears as /dev/disk/by-id/virtio-<name>.";
          };
          options.sizeMiB = mkOption {
            type = types.ints.positive;
            description = "Size in MiB (a sparse qcow2 in the VM's TMPDIR).";
          };
        }
      );
      default = [
        {
          name = "test";
          sizeMiB = 5120;
        }
        {
          name = "scratch";
          sizeMiB = 5120;
        }
      ];
      description = ''
        Empty disks for fstests, in order (virtualisation.emptyDiskImages). kt's local.config uses
        /dev/disk/by-id/virtio-test as TEST_DEV and /dev/disk/by-id/virtio-scratch as SCRATCH_DEV.
        Add disks here (e.g. for SCRATCH_DEV_POOL), not in virtualisation.emptyDiskImages: the
        names are given by position.
      '';
    };

    extraPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "More packages on the guest's PATH (tools some tests _require).";
    };

    kdump.enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Load a crash kernel (boot.crashDump.enable). After a panic it saves /proc/vmcore to
        /tmp/xchg/vmcore, which is $TMPDIR/xchg/vmcore on the host (kt: the VM's directory), and
        powers off. Mutually exclusive in effect with kt's --vmcore (QEMU's dump-guest-memory):
        with a crash kernel loaded the panicking kernel kexecs before pvpanic can tell QEMU.
      '';
    };
  };

  config = {
    assertions = [
      {
        assertion = lib.length (lib.unique diskNames) == lib.length diskNames;
        message = "kt.disks: disk names must be unique (got ${toString diskNames})";
      }
      {
        assertion = !config.virtualisation.useBootLoader;
        message = "kt-guest boots the kernel directly (NIXPKGS_QEMU_KERNEL_*); virtualisation.useBootLoader is not supported";
      }
    ];

    # system.name follows the hostname; the run script becomes bin/run-kt-guest-vm and reads
    # NIXPKGS_QEMU_KERNEL_kt_guest.
    networking.hostName = mkDefault "kt-guest";
    system.stateVersion = mkDefault "25.05";

    virtualisation = {
      graphics = false;
      memorySize = mkDefault 2048;
      cores = mkDefault 2;
      emptyDiskImages = map (d: d.sizeMiB) cfg.disks;
      # Its agent would wait for a port kt never creates.
      qemu.guestAgent.enable = false;
    };

    # ttyS0 is kt's console: every kernel message must reach it (NixOS defaults to 4, which
    # hides WARNINGs and stack traces printed at the default level).
    boot.consoleLogLevel = mkDefault 7;
    boot.kernelModules = [
      # The guest tells QEMU it panicked (QEMU -device pvpanic-pci).
      "pvpanic_pci"
      # Also loaded by profiles/qemu-guest.nix in the initrd; here for kernels built differently.
      "virtio_console"
    ];
    boot.kernel.sysctl = {
      # kt asks a hung guest for task dumps with sysrq over QMP.
      "kernel.sysrq" = lib.mkForce 1;
      # fstests looks for core files in the test's directory ("[dumped core]").
      "kernel.core_pattern" = lib.mkForce "core";
    };
    systemd.coredump.enable = false;

    # Static address on QEMU's user network: no DHCP wait. restrict=on (set by kt) keeps the
    # guest off the host's network; kt's host forward still reaches 10.0.2.15:22.
    networking.useDHCP = mkDefault false;
    networking.interfaces.eth0.ipv4.addresses = mkDefault [
      {
        address = "10.0.2.15";
        prefixLength = 24;
      }
    ];
    networking.defaultGateway = mkDefault "10.0.2.2";
    networking.firewall.enable = mkDefault false;

    documentation.enable = mkDefault false;

    # Root: key logins over ssh only; an empty password for the serial console of a VM you
    # started by hand (the same value nixos/modules/testing/test-instrumentation.nix uses).
    users.users.root.initialHashedPassword = lib.mkOverride 150 "";
    services.getty.autologinUser = mkDefault "root";

    # fstests README: useradd -m fsgqa; useradd 123456-fsgqa; useradd fsgqa2; groupadd fsgqa.
    users.groups = {
      fsgqa = { };
      fsgqa2 = { };
      "123456-fsgqa" = { };
      sshd = { };
    };
    users.users = {
      fsgqa = {
        isNormalUser = true;
        group = "fsgqa";
      };
      fsgqa2 = {
        isNormalUser = true;
        group = "fsgqa2";
      };
      "123456-fsgqa" = {
        isNormalUser = true;
        group = "123456-fsgqa";
      };
      # OpenSSH's privilege separation user (the same definition services.openssh makes).
      sshd = {
        isSystemUser = true;
        group = "sshd";
      };
    };

    # fstests and its runtime dependencies: the PATH of nixpkgs' xfstests-check wrapper
    # (pkgs/by-name/xf/xfstests/package.nix), the mkfs of every filesystem kt formats, and the
    # tools tests commonly _require.
    environment.systemPackages =
      (with pkgs; [
        acl
        attr
        bc
        btrfs-progs
        bzip2
        duperemove
        e2fsprogs
        file
        fio
        fsverity-utils
        gawk
        gzip
        inetutils
        iproute2
        keyutils
        kmod
        libcap
        lvm2
        openssh
        perl
        procps
        psmisc
        python3
        quota
        util-linux
        which
        xfsprogs
        xz
        zstd
      ])
      ++ [ cfg.fstests.package ]
      ++ cfg.extraPackages;

    # /dev/disk/by-id/virtio-<name> for the serial-less empty disks (udev's
    # 60-persistent-storage.rules only links disks that have a serial; extraRules go to
    # 99-local.rules, after it).
    services.udev.extraRules = ''
      SUBSYSTEM=="block", KERNEL=="vd*[!0-9]", ENV{ID_SERIAL}!="?*", PROGRAM="${diskNamer} %k", SYMLINK+="disk/by-id/virtio-%c"
    '';

    # Reads kt.* from the kernel cmdline (as guest/kt-init and guest/kt-sshd do), makes the ssh host key and
    # the fstests tree. The tree is a writable directory of links into the store, as nixpkgs'
    # xfstests-check wrapper builds it: check and the tests write next to themselves.
    systemd.services.kt-setup = {
      description = "kt: kernel parameters, ssh host key, fstests tree";
      wantedBy = [ "multi-user.target" ];
      after = [ "local-fs.target" ];
      path = [
        pkgs.coreutils
        pkgs.openssh
      ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = ''
        install -d -m 0755 /run/kt
        sshkey= host= hung=
        for arg in $(cat /proc/cmdline); do
          case $arg in
          kt.sshkey=*) sshkey=''${arg#*=} ;;
          kt.hostname=*) host=''${arg#*=} ;;
          kt.hung_task_timeout=*) hung=''${arg#*=} ;;
          esac
        done

        if [[ $sshkey =~ ^[A-Za-z0-9+/]+={0,2}$ ]]; then
          (umask 077 && echo "ssh-ed25519 $sshkey kt-host" >/run/kt/authorized_keys)
        else
          echo "kt-init: warning: no valid kt.sshkey= on the kernel cmdline; ssh logins will fail" >/dev/ttyS0
        fi
        if [[ $host =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]]; then
          echo "$host" >/proc/sys/kernel/hostname
        fi
        if [[ $hung =~ ^[0-9]+$ ]] && [ -w /proc/sys/kernel/hung_task_timeout_secs ]; then
          echo "$hung" >/proc/sys/kernel/hung_task_timeout_secs
        fi

        rm -f /run/kt/ssh_host_ed25519_key /run/kt/ssh_host_ed25519_key.pub
        ssh-keygen -q -t ed25519 -N "" -C kt-guest -f /run/kt/ssh_host_ed25519_key
        # kt pins the key printed here: ttyS0 is QEMU's stdout, which only kt reads and which
        # nothing on the guest's network can write to (src/vm/hostKey.ts).
        printf '\nkt-init: ssh host key %s\n' "$(cat /run/kt/ssh_host_ed25519_key.pub)" >/dev/ttyS0

        rm -rf /var/lib/xfstests
        mkdir -p /var/lib/xfstests
        for f in ${cfg.fstests.package}/lib/xfstests/*; do
          ln -s "$f" /var/lib/xfstests/
        done
      '';
    };

    # One `sshd -i` per host connection on the virtio-serial port kt.ssh (udev's
    # 50-udev-default.rules links it as /dev/virtio-ports/kt.ssh). The port is opened once,
    # read-write: virtio_console allows a single open per port. Without the port (tcp
    # transport, or a VM started by hand) the service just ends.
    systemd.services.kt-sshd-serial = {
      description = "kt: sshd -i on the virtio-serial port kt.ssh";
      wantedBy = [ "multi-user.target" ];
      requires = [ "kt-setup.service" ];
      after = [ "kt-setup.service" ];
      serviceConfig = sessionServiceConfig // {
        Restart = "on-failure";
      };
      script = ''
        port=/dev/virtio-ports/kt.ssh
        for _ in $(${pkgs.coreutils}/bin/seq 50); do
          [ -e "$port" ] && break
          ${pkgs.coreutils}/bin/sleep 0.1
        done
        if [ ! -e "$port" ]; then
          echo "no virtio-serial port named kt.ssh; nothing to serve"
          exit 0
        fi
        while :; do
          ${pkgs.coreutils}/bin/env --default-signal ${sshd} -i -f ${sshdConfig} -E /run/kt/sshd-virtio.log \
            0<>"$port" 1>&0 2>/dev/null || true
          ${pkgs.coreutils}/bin/sleep 0.2
        done
      '';
    };

    # A listening sshd for the tcp transport (QEMU hostfwd 127.0.0.1:<port> -> 10.0.2.15:22).
    systemd.services.kt-sshd = {
      description = "kt: sshd on port 22";
      wantedBy = [ "multi-user.target" ];
      requires = [ "kt-setup.service" ];
      after = [
        "kt-setup.service"
        "network.target"
      ];
      serviceConfig = sessionServiceConfig // {
        ExecStart = "${pkgs.coreutils}/bin/env --default-signal ${sshd} -D -e -f ${sshdConfig}";
        Restart = "always";
      };
    };

    # The line kt waits for, printed when both ways in are up and the disks have their names.
    systemd.services.kt-ready = {
      description = "kt: announce readiness on ttyS0";
      wantedBy = [ "multi-user.target" ];
      wants = [
        "kt-sshd-serial.service"
        "kt-sshd.service"
      ];
      after = [
        "kt-setup.service"
        "kt-sshd-serial.service"
        "kt-sshd.service"
      ];
      path = [
        pkgs.coreutils
        pkgs.gnugrep
        pkgs.iproute2
      ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = ''
        wait_for() { # <tries of 0.1 s> <command...>
          local n=$1
          shift
          while ! "$@"; do
            n=$((n - 1))
            [ "$n" -gt 0 ] || return 1
            sleep 0.1
          done
        }
        for name in ${lib.escapeShellArgs diskNames}; do
          wait_for 300 test -e "/dev/disk/by-id/virtio-$name" ||
            echo "kt-init: warning: no /dev/disk/by-id/virtio-$name" >/dev/ttyS0
        done
        # The tcp transport needs the address and the listening socket.
        has_address() { ip -4 -o addr show scope global | grep -q inet; }
        listening() { ss -Hltn 'sport = :22' | grep -q .; }
        if ip -o link show | grep -qv ' lo:'; then
          wait_for 200 has_address || echo "kt-init: warning: no IPv4 address" >/dev/ttyS0
          wait_for 200 listening || echo "kt-init: warning: sshd is not listening on port 22" >/dev/ttyS0
        fi
        printf '\nkt-init: ready\n' >/dev/ttyS0
      '';
    };

    # Optional kdump (nixos/modules/misc/crashdump.nix): its crash kernel boots this system
    # with the parameters below; "1" = rescue.target, where kt-save-vmcore runs.
    boot.crashDump = mkIf cfg.kdump.enable {
      enable = true;
      kernelParams = [
        "console=ttyS0,115200"
        "1"
        "boot.shell_on_fail"
      ];
    };
    systemd.services.kt-save-vmcore = mkIf cfg.kdump.enable {
      description = "kt: save the vmcore of the crashed kernel";
      wantedBy = [
        "rescue.target"
        "multi-user.target"
      ];
      unitConfig.ConditionPathExists = "/proc/vmcore";
      path = [
        pkgs.coreutils
        pkgs.makedumpfile
        pkgs.systemd
      ];
      serviceConfig.Type = "oneshot";
      script = ''
        echo "kt-kdump: saving /proc/vmcore" >/dev/ttyS0
        if ! makedumpfile -c -d 31 /proc/vmcore /tmp/xchg/vmcore; then
          cp --sparse=always /proc/vmcore /tmp/xchg/vmcore
        fi
        echo "kt-kdump: saved /tmp/xchg/vmcore" >/dev/ttyS0
        systemctl poweroff -ff
      '';
    };
  };
}
