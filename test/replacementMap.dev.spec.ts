import { describeReplacementMap } from "./replacementMapChecks";

describeReplacementMap("dev");
