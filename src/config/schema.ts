/**
 * The config file (kt.yaml) and suite files (suites/*.yaml), validated with zod so a typo is
 * an error that names the file and the key, never a silently ignored setting.
 */
import { z } from 'zod';

/** A size as written in YAML: "512M", "5G", or a byte count. */
const size = z.union([z.string(), z.number()]);

/**
 * An exclude entry: a path to an fstests -E file (relative to the suite file), or one test with
 * a reason; either may hold only for some kernels (`kernel: "<6.6"`).
 */
export const excludeEntrySchema = z.union([
  z.string(),
  z
    .object({
      /** An fstests -E file (one test per line, `#` comments). */
      file: z.string().optional(),
      /** One test id (or an fstests -E line). */
      test: z.string().optional(),
      /** Why, or a link to the bug. */
      reason: z.string().optional(),
      /** Kernel versions the entry holds for, e.g. "<6.6" or ">=6.1 <6.8". */
      kernel: z.string().optional(),
    })
    .strict()
    .refine((e) => (e.file === undefined) !== (e.test === undefined), { message: 'give exactly one of file: or test:' }),
]);
export type ExcludeEntry = z.infer<typeof excludeEntrySchema>;

/** Devices a section needs besides TEST_DEV and SCRATCH_DEV (fstests' common/config names). */
export const devicesSchema = z
  .object({
    /** External log devices (USE_EXTERNAL=yes, TEST_LOGDEV and SCRATCH_LOGDEV), xfs only. */
    logdev: size.optional(),
    /** Realtime devices (USE_EXTERNAL=yes, TEST_RTDEV and SCRATCH_RTDEV), xfs only. */
    rtdev: size.optional(),
    /** SCRATCH_DEV_POOL of this many devices (btrfs raid and device tests), SCRATCH_DEV first. */
    scratchPool: z.number().int().min(2).max(16).optional(),
  })
  .strict();

/** The filesystems a section can test (FSTYP): those kt makes TEST_DEV for (src/runner/guestCommands.ts MKFS). */
export const SECTION_FSTYPS = ['xfs', 'ext4', 'ext2', 'ext3', 'btrfs'] as const;
const fstyp = z.enum(SECTION_FSTYPS);

/** One section of a suite: what fstests calls a config section. */
export const sectionSchema = z
  .object({
    /** FSTYP (default: the suite's). */
    fstyp: fstyp.optional(),
    /** MKFS_OPTIONS (TEST_DEV is made with the same). */
    mkfsOptions: z.string().optional(),
    /** MOUNT_OPTIONS. */
    mountOptions: z.string().optional(),
    /** TEST_DEV / SCRATCH_DEV sizes (default: --test-size / --scratch-size). */
    testSize: size.optional(),
    scratchSize: size.optional(),
    devices: devicesSchema.optional(),
    /** Excludes of this section only, on top of the suite's. */
    exclude: z.array(excludeEntrySchema).optional(),
    /** More check config variables (e.g. USE_KMEMLEAK: "yes"), on top of the suite's. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a check config variable is a shell name such as USE_KMEMLEAK'), z.string()).optional(),
    /** One line on what the section is for. */
    description: z.string().optional(),
  })
  .strict();
export type SectionSpec = z.infer<typeof sectionSchema>;

/**
 * A suite file: defaults for its sections, and the sections. A suite without `sections:` is one
 * configuration, named after the file (the format before sections).
 */
export const suiteSchema = z
  .object({
    /** fstests FSTYP. */
    fstyp,
    /** Defaults of every section. */
    mkfsOptions: z.string().default(''),
    mountOptions: z.string().default(''),
    /** Excludes of the whole filesystem (every section). */
    exclude: z.array(excludeEntrySchema).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a check config variable is a shell name such as USE_KMEMLEAK'), z.string()).default({}),
    /** The section `--suite NAME` runs (default: the first). */
    default: z.string().optional(),
    sections: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'section names use letters, digits, "_" and "-"'), sectionSchema).optional(),
  })
  .strict()
  .refine((s) => s.default === undefined || (s.sections !== undefined && s.default in s.sections), { message: 'default: names no section of this suite', path: ['default'] });

export type Suite = z.infer<typeof suiteSchema>;

export const configFileSchema = z
  .object({
    fstests: z.string().optional(),
    kernel: z.string().optional(),
    suite: z.string().optional(),
    jobs: z.union([z.number().int().positive(), z.literal('auto')]).optional(),
    batch: z.number().int().positive().optional(),
    spares: z.number().int().nonnegative().optional(),
    backend: z.enum(['direct', 'nixos']).optional(),
    results: z.string().optional(),
    accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    memory: z.number().int().positive().optional(),
    cpus: z.number().int().positive().optional(),
    testSize: z.union([z.string(), z.number()]).optional(),
    scratchSize: z.union([z.string(), z.number()]).optional(),
    testTimeout: z.number().positive().optional(),
    bootTimeout: z.number().positive().optional(),
    retries: z.number().int().nonnegative().optional(),
    exclude: z.array(excludeEntrySchema).optional(),
    /** Sections to run by default (`-c`), e.g. [xfs/4k, xfs/1k]. */
    sections: z.array(z.string()).optional(),
    append: z.array(z.string()).optional(),
    transport: z.enum(['virtio-serial', 'tcp']).optional(),
    /** auto (default) or bzimage: how QEMU boots the kernel (docs/speed.md, "PVH entry"). */
    kernelEntry: z.enum(['auto', 'bzimage']).optional(),
    /** template (default) or mkfs: where a VM's TEST_DEV filesystem comes from (docs/speed.md, "TEST_DEV made once"). */
    testDev: z.enum(['template', 'mkfs']).optional(),
    /** image (default) or virtiofs: docs/virtiofs.md. */
    rootfs: z.enum(['image', 'virtiofs']).optional(),
    /** TAG:PATH[:ro] entries, as --share; relative paths from the config file's directory. */
    shares: z.array(z.string()).optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
