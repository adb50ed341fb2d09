import { describeReplacementMap } from "./replacementMapChecks";

describeReplacementMap("prod");
