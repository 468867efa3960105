/**
 * fstests knowledge of kt: reading a tree's group lists, planning check's test list on the
 * host, parsing check's stdout and result files, and writing its config (docs/fstests.md).
 * Other folders import from here, not from the files behind it.
 */
export type {
  AggregateEvent,
  CheckEvent,
  HeaderEvent,
  HeaderField,
  SectionRecapEvent,
  SummaryFailedEvent,
  SummaryFailuresEvent,
  SummaryInterruptedEvent,
  SummaryNotRunEvent,
  SummaryPassedEvent,
  SummaryRanEvent,
  TestOutputEvent,
  TestResultEvent,
  TestStartEvent,
  TestUnfinishedEvent,
  UnparsedEvent,
  XunitReportEvent,
} from './checkEvents.js';
export { CheckOutputParser, parseCheckOutput } from './checkOutputParser.js';
export { parseCheckTime } from './checkTime.js';
export { expungeLineMatches, parseExcludeFile, splitExpungeArg } from './excludeFile.js';
export { groupNames, parseGroupList, type GroupList } from './groupList.js';
export {
  renderLocalConfig,
  renderSectionsConfig,
  shellQuote,
  type ConfigSection,
  type LocalConfigOptions,
} from './localConfig.js';
export { allTestIds, planTests, type PlanRequest, type TestPlan } from './planTests.js';
export { parseResultXml, type XunitReport, type XunitTestcase } from './resultXml.js';
export { fsTestDir, groupDirs, isTestId, isTestName } from './testNames.js';
export { loadTestTree, type TestTree } from './testTree.js';
