// SPDX-License-Identifier: GPL-2.0
/*
 * crashmod: provokes real kernel crash reports on demand, so that kt's crash detector is
 * tested against what a real kernel prints (test/crash-corpus/). Never load it on a machine
 * you care about.
 *
 *   echo <scenario> > /sys/module/crashmod/parameters/trigger
 *
 * Scenarios: warn, null, pagefault, gpf, bug, list, panic, atomic_sleep, softlockup,
 * irqlockup, hang. spin_secs / hang_secs tune the lockup and hang scenarios.
 * Every function that should show up as "the frame" of a report is noinline.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/bug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/preempt.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/string.h>

static int spin_secs = 30;
module_param(spin_secs, int, 0644);
MODULE_PARM_DESC(spin_secs, "seconds to spin in softlockup/irqlockup");

static int hang_secs = 30;
module_param(hang_secs, int, 0644);
MODULE_PARM_DESC(hang_secs, "seconds to sleep uninterruptibly in hang");

static noinline void crashmod_warn(void)
{
	WARN_ON(1);
}

static noinline int crashmod_null_deref(void)
{
	const volatile int *p = NULL;

	return *p;
}

static noinline int crashmod_page_fault(void)
{
	/* a vmalloc-area address that nothing maps (Documentation/x86/x86_64/mm.rst) */
	const volatile int *p = (const volatile int *)0xffffc9ffffff0000UL;
	return *p;
}

static noinline int crashmod_gpf(void)
{
	/* non-canonical, like LIST_POISON1 + offset: "general protection fault, probably for non-canonical address" */
	const volatile int *p = (const volatile int *)0xdead000000000100UL;
	return *p;
}

static noinline void crashmod_bug(void)
{
	BUG();
}

static noinline void crashmod_list_corrupt(void)
{
	static LIST_HEAD(head);
	static struct list_head a, b, c;

	list_add(&a, &head);
	a.prev = &b;		/* a broken back link: head->next->prev is no longer &head */
	list_add(&c, &head);	/* __list_add_valid: "list_add corruption. next->prev should be prev" */
}

static noinline void crashmod_panic(void)
{
	panic("crashmod: deliberate panic");
}

static noinline void crashmod_sleep_in_atomic(void)
{
	preempt_disable();
	msleep(10);		/* schedule() with preemption off: "BUG: scheduling while atomic" */
	preempt_enable();
}

static noinline void crashmod_spin(void)
{
	unsigned long end = jiffies + spin_secs * HZ;

	preempt_disable();
	while (time_before(jiffies, end))
		cpu_relax();
	preempt_enable();
}

static noinline void crashmod_spin_irqs_off(void)
{
	unsigned long flags;
	unsigned long i;

	/* jiffies may not advance with this CPU's irqs off: count udelay-calibrated loops instead */
	local_irq_save(flags);
	for (i = 0; i < (unsigned long)spin_secs * 1000; i++)
		udelay(1000);
	local_irq_restore(flags);
}

static noinline void crashmod_hang(void)
{
	msleep(hang_secs * 1000);	/* TASK_UNINTERRUPTIBLE: khungtaskd reports it */
}

static int crashmod_trigger(const char *val, const struct kernel_param *kp)
{
	char what[32];

	strscpy(what, val, sizeof(what));
	strim(what);
	pr_info("crashmod: trigger %s\n", what);
	if (!strcmp(what, "warn"))
		crashmod_warn();
	else if (!strcmp(what, "null"))
		return crashmod_null_deref();
	else if (!strcmp(what, "pagefault"))
		return crashmod_page_fault();
	else if (!strcmp(what, "gpf"))
		return crashmod_gpf();
	else if (!strcmp(what, "bug"))
		crashmod_bug();
	else if (!strcmp(what, "list"))
		crashmod_list_corrupt();
	else if (!strcmp(what, "panic"))
		crashmod_panic();
	else if (!strcmp(what, "atomic_sleep"))
		crashmod_sleep_in_atomic();
	else if (!strcmp(what, "softlockup"))
		crashmod_spin();
	else if (!strcmp(what, "irqlockup"))
		crashmod_spin_irqs_off();
	else if (!strcmp(what, "hang"))
		crashmod_hang();
	else
		return -EINVAL;
	pr_info("crashmod: %s returned\n", what);
	return 0;
}

static const struct kernel_param_ops crashmod_trigger_ops = {
	.set = crashmod_trigger,
	.get = NULL,
};
module_param_cb(trigger, &crashmod_trigger_ops, NULL, 0200);
MODULE_PARM_DESC(trigger, "write a scenario name to provoke it");

static int __init crashmod_init(void)
{
	pr_info("crashmod: loaded\n");
	return 0;
}

static void __exit crashmod_exit(void)
{
}

module_init(crashmod_init);
module_exit(crashmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Provokes kernel crash reports for kt's crash-detector corpus");
