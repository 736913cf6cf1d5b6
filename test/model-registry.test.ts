import { expect } from "chai";
import { keccak256, toHex, type Address, type Hex } from "viem";
import {
  computeFamilyId,
  computeModelId,
  fieldToBytes32,
  GateKind,
  ModelStatus,
  SNARK_SCALAR_FIELD,
  VerificationMode,
} from "../src/protocol/index.js";
import {
  codeHashOf,
  deployProtocol,
  deployVerifier,
  ethers,
  findEvent,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  OPG,
  registerModel,
  ROYALTY_BPS,
  ZERO_ADDRESS,
  ZERO_HASH,
  type ModelSpecInput,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);

/** `ProtocolLimits.MAX_ROYALTY_BPS`: BPS (10 000) minus the protocol fee cap (2 000). */
const MAX_ROYALTY_BPS = 8_000;
const MAX_NAME_LENGTH = 64;
const MAX_ALLOWLIST_BATCH = 256;
/** A weight commitment that is a BN254 field element, as the registry requires. */
const ZK_COMMITMENT = fieldToBytes32(BigInt(keccak256(toHex("zk weight commitment"))) % SNARK_SCALAR_FIELD);
/** An input hash that is a field element (so valid in every mode). */
const INPUT_HASH = fieldToBytes32(7n);

/** The `ModelSpec` tuple in ABI order, as an event argument. */
function specTuple(s: ModelSpecInput) {
  return [
    s.name,
    s.fileHash,
    s.runtimeHash,
    s.zkCommitment,
    s.zkVerifier,
    s.zkVerifierCodeHash,
    s.uri,
    s.fee,
    s.royaltyBps,
    s.modes,
  ];
}

function idOf(owner: string, s: ModelSpecInput): Hex {
  return computeModelId({
    familyId: computeFamilyId(owner as Address, s.name),
    fileHash: s.fileHash,
    runtimeHash: s.runtimeHash,
    zkCommitment: s.zkCommitment,
    zkVerifier: s.zkVerifier,
    zkVerifierCodeHash: s.zkVerifierCodeHash,
  });
}

/** Deployed protocol plus one active version ("iris-mlp" v1) owned by `modelOwner`. */
async function registryFixture() {
  const p = await deployProtocol();
  const spec = modelSpec();
  const modelId = await registerModel(p.models, p.modelOwner, spec);
  const familyId = computeFamilyId(p.modelOwner.address as Address, spec.name);
  return { ...p, spec, modelId, familyId };
}

/** As `registryFixture`, with a second version (v2, now latest) in the same family. */
async function twoVersionsFixture() {
  const p = await registryFixture();
  const spec2 = modelSpec({ fileHash: keccak256(toHex("model file bytes v2")) });
  const modelId2 = await registerModel(p.models, p.modelOwner, spec2);
  return { ...p, spec2, modelId2 };
}

describe("ModelRegistry", () => {
  describe("deployment", () => {
    it("reads the token it was given and exposes its limits", async () => {
      const p = await loadFixture(registryFixture);
      expect(await p.models.token()).to.equal(await p.token.getAddress());
      expect(await p.models.MAX_NAME_LENGTH()).to.equal(BigInt(MAX_NAME_LENGTH));
      expect(await p.models.MAX_ALLOWLIST_BATCH()).to.equal(BigInt(MAX_ALLOWLIST_BATCH));
    });

    it("refuses a zero token", async () => {
      const p = await loadFixture(registryFixture);
      await expect(ethers.deployContract("ModelRegistry", [ZERO_ADDRESS])).to.be.revertedWithCustomError(
        p.models,
        "ZeroAddress",
      );
    });
  });

  describe("ids", () => {
    it("computes family ids in TypeScript exactly as on-chain, namespaced by owner", async () => {
      const p = await loadFixture(registryFixture);
      for (const [owner, name] of [
        [p.modelOwner.address, "iris-mlp"],
        [p.other.address, "iris-mlp"],
        [p.modelOwner.address, "a"],
        [p.modelOwner.address, "é".repeat(32)],
      ] as const) {
        expect(await p.models.computeFamilyId(owner, name)).to.equal(computeFamilyId(owner as Address, name));
      }
      expect(computeFamilyId(p.modelOwner.address as Address, "iris-mlp")).to.not.equal(
        computeFamilyId(p.other.address as Address, "iris-mlp"),
      );
    });

    it("computes model ids in TypeScript exactly as on-chain, with and without a zk binding", async () => {
      const p = await loadFixture(registryFixture);
      const verifier = (await p.token.getAddress()) as Address;
      const codeHash = keccak256(toHex("verifier code"));
      const base = {
        familyId: p.familyId,
        fileHash: p.spec.fileHash,
        runtimeHash: p.spec.runtimeHash,
      };
      expect(
        await p.models.computeModelId(
          p.familyId,
          base.fileHash,
          base.runtimeHash,
          ZERO_HASH,
          ZERO_ADDRESS,
          ZERO_HASH,
        ),
      ).to.equal(computeModelId(base));
      expect(
        await p.models.computeModelId(
          p.familyId,
          base.fileHash,
          base.runtimeHash,
          ZK_COMMITMENT,
          verifier,
          codeHash,
        ),
      ).to.equal(
        computeModelId({
          ...base,
          zkCommitment: ZK_COMMITMENT,
          zkVerifier: verifier,
          zkVerifierCodeHash: codeHash,
        }),
      );
      // Every committed field changes the id.
      const ids = new Set([
        computeModelId(base),
        computeModelId({ ...base, familyId: computeFamilyId(p.other.address as Address, "iris-mlp") }),
        computeModelId({ ...base, fileHash: keccak256(toHex("x")) }),
        computeModelId({ ...base, runtimeHash: keccak256(toHex("x")) }),
        computeModelId({ ...base, zkCommitment: ZK_COMMITMENT }),
        computeModelId({ ...base, zkVerifier: verifier }),
        computeModelId({ ...base, zkVerifierCodeHash: codeHash }),
      ]);
      expect(ids.size).to.equal(7);
    });

    it("gives a registered version the id both computations predict, and returns it", async () => {
      const p = await loadFixture(registryFixture);
      const expected = idOf(p.modelOwner.address, p.spec);
      expect(p.modelId).to.equal(expected);
      expect(
        await p.models.computeModelId(
          p.familyId,
          p.spec.fileHash,
          p.spec.runtimeHash,
          ZERO_HASH,
          ZERO_ADDRESS,
          ZERO_HASH,
        ),
      ).to.equal(expected);
      const spec2 = modelSpec({ runtimeHash: keccak256(toHex("runtime v2")) });
      expect(await p.models.connect(p.modelOwner).registerModel.staticCall(spec2)).to.equal(
        idOf(p.modelOwner.address, spec2),
      );
    });

    it("keeps two owners' families of the same name apart: no collision, no squatting", async () => {
      const p = await loadFixture(registryFixture);
      // Same name and the very same content, another owner.
      const otherId = await registerModel(p.models, p.other, p.spec);
      const otherFamily = computeFamilyId(p.other.address as Address, p.spec.name);
      expect(otherFamily).to.not.equal(p.familyId);
      expect(otherId).to.not.equal(p.modelId);
      expect(otherId).to.equal(idOf(p.other.address, p.spec));

      const mine = await p.models.getFamily(p.familyId);
      const theirs = await p.models.getFamily(otherFamily);
      expect([mine.owner, mine.versionCount, mine.latest]).to.deep.equal([
        p.modelOwner.address,
        1n,
        p.modelId,
      ]);
      expect([theirs.owner, theirs.versionCount, theirs.latest]).to.deep.equal([
        p.other.address,
        1n,
        otherId,
      ]);
      expect((await p.models.getModel(otherId)).owner).to.equal(p.other.address);
      expect((await p.models.getModel(p.modelId)).owner).to.equal(p.modelOwner.address);
      // Neither can touch the other's family.
      await expect(p.models.connect(p.other).setLatest(p.familyId, p.modelId))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
      await expect(p.models.connect(p.modelOwner).setAllowed(otherFamily, [p.requester.address], true))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.modelOwner.address, p.other.address);
    });

    it("does not make the URI, terms or modes part of the identity", async () => {
      const p = await loadFixture(registryFixture);
      for (const variant of [
        modelSpec({ uri: "https://elsewhere" }),
        modelSpec({ fee: 1n, royaltyBps: 0 }),
      ]) {
        await expect(p.models.connect(p.modelOwner).registerModel(variant))
          .to.be.revertedWithCustomError(p.models, "ModelExists")
          .withArgs(p.modelId);
      }
      const zk = modelSpec({
        modes: VerificationMode.Zk,
        zkCommitment: ZK_COMMITMENT,
        ...(await deployVerifier()),
      });
      const zkId = await registerModel(p.models, p.modelOwner, zk);
      for (const modes of [VerificationMode.Signature, VerificationMode.Signature | VerificationMode.Zk]) {
        await expect(p.models.connect(p.modelOwner).registerModel({ ...zk, modes }))
          .to.be.revertedWithCustomError(p.models, "ModelExists")
          .withArgs(zkId);
      }
    });
  });

  describe("registerModel", () => {
    it("stores the full record, creates the family and emits ModelRegistered and LatestVersionSet", async () => {
      const p = await loadFixture(deployProtocol);
      const spec = modelSpec();
      const id = idOf(p.modelOwner.address, spec);
      const familyId = computeFamilyId(p.modelOwner.address as Address, spec.name);
      expect(await p.models.statusOf(id)).to.equal(ModelStatus.None);
      const tx = p.models.connect(p.modelOwner).registerModel(spec);
      await expect(tx)
        .to.emit(p.models, "ModelRegistered")
        .withArgs(id, familyId, p.modelOwner.address, specTuple(spec));
      await expect(tx).to.emit(p.models, "LatestVersionSet").withArgs(familyId, id);
      const registeredAt = BigInt(await time.latest());

      const m = await p.models.getModel(id);
      expect(m.owner).to.equal(p.modelOwner.address);
      expect(m.fee).to.equal(MODEL_FEE);
      expect(m.royaltyBps).to.equal(BigInt(ROYALTY_BPS));
      expect(m.modes).to.equal(BigInt(VerificationMode.Signature));
      expect(m.status).to.equal(BigInt(ModelStatus.Active));
      expect(m.gate).to.equal(BigInt(GateKind.None));
      expect(m.gateMinBalance).to.equal(0n);
      expect(m.registeredAt).to.equal(registeredAt);
      expect(m.familyId).to.equal(familyId);
      expect(m.fileHash).to.equal(spec.fileHash);
      expect(m.runtimeHash).to.equal(spec.runtimeHash);
      expect(m.zkCommitment).to.equal(ZERO_HASH);
      expect(m.zkVerifier).to.equal(ZERO_ADDRESS);
      expect(m.zkVerifierCodeHash).to.equal(ZERO_HASH);
      expect(await p.models.zkBindingOf(id)).to.deep.equal([ZERO_HASH, ZERO_ADDRESS, ZERO_HASH]);
      expect(await p.models.statusOf(id)).to.equal(ModelStatus.Active);

      const f = await p.models.getFamily(familyId);
      expect([f.owner, f.versionCount, f.latest]).to.deep.equal([p.modelOwner.address, 1n, id]);
    });

    it("emits the whole spec, URI included, so the id can be recomputed from the log", async () => {
      const p = await loadFixture(deployProtocol);
      const spec = modelSpec({ uri: "ar://some-locator", fee: 7n, royaltyBps: 123 });
      const receipt = await (await p.models.connect(p.modelOwner).registerModel(spec)).wait();
      const event = findEvent(p.models, receipt, "ModelRegistered");
      const logged = event.args.getValue("spec") as unknown as ModelSpecInput;
      expect(logged.name).to.equal(spec.name);
      expect(logged.uri).to.equal("ar://some-locator");
      expect(logged.fee).to.equal(7n);
      expect(logged.royaltyBps).to.equal(123n);
      expect(
        computeModelId({
          familyId: event.args.getValue("familyId") as Hex,
          fileHash: logged.fileHash,
          runtimeHash: logged.runtimeHash,
          zkCommitment: logged.zkCommitment,
          zkVerifier: logged.zkVerifier,
          zkVerifierCodeHash: logged.zkVerifierCodeHash,
        }),
      ).to.equal(event.args.getValue("modelId"));
    });

    it("refuses to register the same content twice in a family", async () => {
      const p = await loadFixture(registryFixture);
      await expect(p.models.connect(p.modelOwner).registerModel(p.spec))
        .to.be.revertedWithCustomError(p.models, "ModelExists")
        .withArgs(p.modelId);
      const f = await p.models.getFamily(p.familyId);
      expect(f.versionCount).to.equal(1n);
    });

    it("adds new versions to the same family, bumping versionCount and moving latest", async () => {
      const p = await loadFixture(registryFixture);
      const spec2 = modelSpec({ fileHash: keccak256(toHex("v2")) });
      const id2 = idOf(p.modelOwner.address, spec2);
      await expect(p.models.connect(p.modelOwner).registerModel(spec2))
        .to.emit(p.models, "LatestVersionSet")
        .withArgs(p.familyId, id2);
      let f = await p.models.getFamily(p.familyId);
      expect([f.owner, f.versionCount, f.latest]).to.deep.equal([p.modelOwner.address, 2n, id2]);

      const spec3 = modelSpec({ runtimeHash: keccak256(toHex("runtime v3")) });
      const id3 = await registerModel(p.models, p.modelOwner, spec3);
      f = await p.models.getFamily(p.familyId);
      expect([f.versionCount, f.latest]).to.deep.equal([3n, id3]);
      // Older versions stay registered and active, in the same family.
      for (const id of [p.modelId, id2, id3]) {
        const m = await p.models.getModel(id);
        expect(m.status).to.equal(BigInt(ModelStatus.Active));
        expect(m.familyId).to.equal(p.familyId);
      }
    });

    it("keeps one owner's families separate", async () => {
      const p = await loadFixture(registryFixture);
      const otherName = modelSpec({ name: "iris-mlp-large" });
      const id = await registerModel(p.models, p.modelOwner, otherName);
      const familyB = computeFamilyId(p.modelOwner.address as Address, "iris-mlp-large");
      expect((await p.models.getModel(id)).familyId).to.equal(familyB);
      expect((await p.models.getFamily(familyB)).versionCount).to.equal(1n);
      const a = await p.models.getFamily(p.familyId);
      expect([a.versionCount, a.latest]).to.deep.equal([1n, p.modelId]);
    });

    it("takes names of 1 to 64 bytes, counted in bytes", async () => {
      const p = await loadFixture(deployProtocol);
      const register = (name: string) => p.models.connect(p.modelOwner).registerModel(modelSpec({ name }));
      await expect(register("")).to.be.revertedWithCustomError(p.models, "InvalidName");
      await expect(register("a".repeat(MAX_NAME_LENGTH + 1))).to.be.revertedWithCustomError(
        p.models,
        "InvalidName",
      );
      // 33 characters but 66 bytes.
      await expect(register("é".repeat(33))).to.be.revertedWithCustomError(p.models, "InvalidName");
      for (const name of ["a", "a".repeat(MAX_NAME_LENGTH), "é".repeat(32)]) {
        const spec = modelSpec({ name });
        await expect(register(name))
          .to.emit(p.models, "ModelRegistered")
          .withArgs(
            idOf(p.modelOwner.address, spec),
            computeFamilyId(p.modelOwner.address as Address, name),
            p.modelOwner.address,
            specTuple(spec),
          );
      }
    });

    it("refuses zero file and runtime hashes", async () => {
      const p = await loadFixture(deployProtocol);
      await expect(
        p.models.connect(p.modelOwner).registerModel(modelSpec({ fileHash: ZERO_HASH })),
      ).to.be.revertedWithCustomError(p.models, "InvalidFileHash");
      await expect(
        p.models.connect(p.modelOwner).registerModel(modelSpec({ runtimeHash: ZERO_HASH })),
      ).to.be.revertedWithCustomError(p.models, "InvalidRuntimeHash");
    });

    it("refuses an empty mode set and takes any other set of bits (future modes included)", async () => {
      const p = await loadFixture(deployProtocol);
      await expect(p.models.connect(p.modelOwner).registerModel(modelSpec({ modes: 0 })))
        .to.be.revertedWithCustomError(p.models, "InvalidModes")
        .withArgs(0);
      // Bits no mode contract is bound to yet are allowed: requests for them wait until governance binds one.
      for (const modes of [1, 4, 5, 8, 0x80, 0xfd]) {
        const id = await registerModel(p.models, p.modelOwner, modelSpec({ modes, name: `modes-${modes}` }));
        expect((await p.models.getModel(id)).modes).to.equal(BigInt(modes));
      }
      // A set with the zk bit needs the zk binding.
      await expect(
        p.models.connect(p.modelOwner).registerModel(modelSpec({ modes: 0xff, name: "all" })),
      ).to.be.revertedWithCustomError(p.models, "ZkBindingRequired");
      const all = modelSpec({
        modes: 0xff,
        name: "all",
        zkCommitment: ZK_COMMITMENT,
        ...(await deployVerifier()),
      });
      expect((await p.models.getModel(await registerModel(p.models, p.modelOwner, all))).modes).to.equal(
        0xffn,
      );
    });

    it("requires a zk commitment and a verifier with code whenever zk is allowed", async () => {
      const p = await loadFixture(deployProtocol);
      const verifier = await deployVerifier();
      const withCode = verifier.zkVerifier;
      const eoa = p.other.address as Address;
      expect(await ethers.provider.getCode(eoa)).to.equal("0x");
      for (const modes of [VerificationMode.Zk, VerificationMode.Zk | VerificationMode.Signature]) {
        for (const [zkCommitment, zkVerifier] of [
          [ZERO_HASH, ZERO_ADDRESS],
          [ZERO_HASH, withCode],
          [ZK_COMMITMENT, ZERO_ADDRESS],
          [ZK_COMMITMENT, eoa],
        ] as const) {
          await expect(
            p.models.connect(p.modelOwner).registerModel(
              modelSpec({
                modes,
                zkCommitment,
                zkVerifier,
                zkVerifierCodeHash: verifier.zkVerifierCodeHash,
              }),
            ),
          ).to.be.revertedWithCustomError(p.models, "ZkBindingRequired");
        }
      }
      const spec = modelSpec({ modes: VerificationMode.Zk, zkCommitment: ZK_COMMITMENT, ...verifier });
      const id = await registerModel(p.models, p.modelOwner, spec);
      expect(id).to.equal(idOf(p.modelOwner.address, spec));
      const m = await p.models.getModel(id);
      expect([m.modes, m.zkCommitment, m.zkVerifier, m.zkVerifierCodeHash]).to.deep.equal([
        BigInt(VerificationMode.Zk),
        ZK_COMMITMENT,
        withCode,
        verifier.zkVerifierCodeHash,
      ]);
      expect(await p.models.zkBindingOf(id)).to.deep.equal([
        ZK_COMMITMENT,
        withCode,
        verifier.zkVerifierCodeHash,
      ]);
      const both = modelSpec({ modes: 3, zkCommitment: ZK_COMMITMENT, ...verifier, name: "both" });
      expect((await p.models.getModel(await registerModel(p.models, p.modelOwner, both))).modes).to.equal(3n);
    });

    it("checks a verifier (and its code hash) whatever the modes; a commitment alone only for range", async () => {
      const p = await loadFixture(registryFixture);
      const verifier = await deployVerifier();
      const eoa = p.other.address as Address;
      // A signature-only version may commit to zk fields, but a named verifier is checked like any other.
      const commitmentOnly = modelSpec({ zkCommitment: ZK_COMMITMENT });
      const id = await registerModel(p.models, p.modelOwner, commitmentOnly);
      expect(id).to.not.equal(p.modelId);
      expect((await p.models.getModel(id)).zkCommitment).to.equal(ZK_COMMITMENT);
      // An account without code has no code to pin (a funded one hashes to keccak256 of empty code).
      await expect(p.models.connect(p.modelOwner).registerModel(modelSpec({ zkVerifier: eoa })))
        .to.be.revertedWithCustomError(p.models, "VerifierCodeHashMismatch")
        .withArgs(eoa, ZERO_HASH, await codeHashOf(eoa));
      await expect(
        p.models
          .connect(p.modelOwner)
          .registerModel(modelSpec({ zkVerifier: eoa, zkVerifierCodeHash: await codeHashOf(eoa) })),
      )
        .to.be.revertedWithCustomError(p.models, "VerifierCodeHashMismatch")
        .withArgs(eoa, await codeHashOf(eoa), await codeHashOf(eoa));
      // A code hash without a verifier.
      await expect(
        p.models
          .connect(p.modelOwner)
          .registerModel(modelSpec({ zkVerifierCodeHash: verifier.zkVerifierCodeHash })),
      )
        .to.be.revertedWithCustomError(p.models, "VerifierCodeHashMismatch")
        .withArgs(ZERO_ADDRESS, verifier.zkVerifierCodeHash, ZERO_HASH);
      // A verifier stated with another code hash, or none.
      for (const stated of [ZERO_HASH, keccak256(toHex("other code"))]) {
        await expect(
          p.models
            .connect(p.modelOwner)
            .registerModel(modelSpec({ zkVerifier: verifier.zkVerifier, zkVerifierCodeHash: stated })),
        )
          .to.be.revertedWithCustomError(p.models, "VerifierCodeHashMismatch")
          .withArgs(verifier.zkVerifier, stated, verifier.zkVerifierCodeHash);
      }
      const signatureOnly = modelSpec({ name: "sig-with-verifier", ...verifier });
      const withVerifier = await registerModel(p.models, p.modelOwner, signatureOnly);
      expect(await p.models.zkBindingOf(withVerifier)).to.deep.equal([
        ZERO_HASH,
        verifier.zkVerifier,
        verifier.zkVerifierCodeHash,
      ]);
    });

    it("requires the zk commitment to be a BN254 field element, whatever the modes", async () => {
      const p = await loadFixture(deployProtocol);
      const verifier = await deployVerifier();
      const modulus = `0x${SNARK_SCALAR_FIELD.toString(16).padStart(64, "0")}` as const;
      const allOnes = `0x${"f".repeat(64)}` as const;
      for (const modes of [VerificationMode.Zk, VerificationMode.Signature]) {
        for (const zkCommitment of [modulus, allOnes]) {
          await expect(
            p.models.connect(p.modelOwner).registerModel(modelSpec({ modes, zkCommitment, ...verifier })),
          )
            .to.be.revertedWithCustomError(p.models, "InvalidZkCommitment")
            .withArgs(zkCommitment);
        }
      }
      const largest = fieldToBytes32(SNARK_SCALAR_FIELD - 1n);
      const spec = modelSpec({ modes: VerificationMode.Zk, zkCommitment: largest, ...verifier });
      const id = await registerModel(p.models, p.modelOwner, spec);
      expect((await p.models.getModel(id)).zkCommitment).to.equal(largest);
    });

    it("caps the royalty at 8000 bps, inclusive", async () => {
      const p = await loadFixture(deployProtocol);
      await expect(
        p.models.connect(p.modelOwner).registerModel(modelSpec({ royaltyBps: MAX_ROYALTY_BPS + 1 })),
      )
        .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
        .withArgs(MAX_ROYALTY_BPS + 1, MAX_ROYALTY_BPS);
      await expect(p.models.connect(p.modelOwner).registerModel(modelSpec({ royaltyBps: 0xffff })))
        .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
        .withArgs(0xffff, MAX_ROYALTY_BPS);
      const id = await registerModel(p.models, p.modelOwner, modelSpec({ royaltyBps: MAX_ROYALTY_BPS }));
      expect((await p.models.getModel(id)).royaltyBps).to.equal(BigInt(MAX_ROYALTY_BPS));
    });
  });

  describe("verifier purity (PureBytecode)", () => {
    /** Put `code` at a fresh address and try to register it as a zk verifier (a static call: nothing is mined). */
    let fresh = 0;
    async function tryVerifier(p: Awaited<ReturnType<typeof deployProtocol>>, code: string) {
      const address = ethers.getAddress(keccak256(toHex(`verifier ${fresh++}`)).slice(0, 42)) as Address;
      await networkHelpers.setCode(address, code);
      const spec = modelSpec({
        modes: VerificationMode.Zk,
        zkCommitment: ZK_COMMITMENT,
        zkVerifier: address,
        zkVerifierCodeHash: await codeHashOf(address),
      });
      return { address, call: p.models.connect(p.modelOwner).registerModel.staticCall(spec) };
    }

    // BALANCE ORIGIN GASPRICE EXTCODESIZE EXTCODECOPY EXTCODEHASH, BLOCKHASH..GASLIMIT, SELFBALANCE..BLOBBASEFEE,
    // SLOAD SSTORE TLOAD TSTORE, CREATE CALL CALLCODE DELEGATECALL CREATE2, 0xef (EIP-7702 designator), SELFDESTRUCT.
    const FORBIDDEN = [
      0x31, 0x32, 0x3a, 0x3b, 0x3c, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x47, 0x48, 0x49, 0x4a, 0x54,
      0x55, 0x5c, 0x5d, 0xf0, 0xf1, 0xf2, 0xf4, 0xf5, 0xef, 0xff,
    ];
    const hex = (op: number) => op.toString(16).padStart(2, "0");

    it("accepts generated Groth16 verifiers and refuses every opcode that reads state or context", async () => {
      const p = await loadFixture(deployProtocol);
      const iris = await deployVerifier();
      expect(
        await p.models
          .connect(p.modelOwner)
          .registerModel.staticCall(
            modelSpec({ modes: VerificationMode.Zk, zkCommitment: ZK_COMMITMENT, ...iris }),
          ),
      ).to.match(/^0x[0-9a-f]{64}$/);
      for (const op of FORBIDDEN) {
        // PUSH0, then the opcode at offset 1, then STOP.
        const { address, call } = await tryVerifier(p, `0x5f${hex(op)}00`);
        await expect(call, `opcode 0x${hex(op)}`)
          .to.be.revertedWithCustomError(p.models, "VerifierNotPure")
          .withArgs(address, 1, op);
      }
      // What a pure function of code and input may use: CHAINID, GAS, ADDRESS, CALLER, CALLVALUE, CALLDATALOAD,
      // CODESIZE, CODECOPY, RETURNDATACOPY, MCOPY, KECCAK256 (and STATICCALL to precompiles, below).
      for (const op of [0x46, 0x5a, 0x30, 0x33, 0x34, 0x35, 0x38, 0x39, 0x3e, 0x5e, 0x20]) {
        const { call } = await tryVerifier(p, `0x5f${hex(op)}00`);
        expect(await call, `opcode 0x${hex(op)}`).to.match(/^0x[0-9a-f]{64}$/);
      }
      // Opcodes no fork defines today (or that a later fork may define) are refused: their effect is unknown.
      for (const op of [0x0c, 0x1e, 0x21, 0x4b, 0xa5, 0xf6, 0xfb]) {
        const { address, call } = await tryVerifier(p, `0x5f${hex(op)}00`);
        await expect(call, `opcode 0x${hex(op)}`)
          .to.be.revertedWithCustomError(p.models, "VerifierNotPure")
          .withArgs(address, 1, op);
      }
    });

    it("counts an opcode only where it can run: not in PUSH data, not after a terminator without a JUMPDEST", async () => {
      const p = await loadFixture(deployProtocol);
      const pure = [
        "0x0054", // STOP, then SLOAD: unreachable
        "0x5f5654", // JUMP terminates
        "0x5f5ff354", // RETURN terminates
        "0x5f5ffd54", // REVERT terminates
        "0xfe54", // INVALID terminates
        "0x6054", // PUSH1 0x54: data
        "0x615b54", // PUSH2 0x5b54: a JUMPDEST byte inside data is not a JUMPDEST
        `0x7f${"54".repeat(32)}00`, // PUSH32 of SLOAD bytes
        "0x00a2646970667358221220" + "54".repeat(32) + "64736f6c6343", // metadata-like tail after STOP
      ];
      for (const code of pure) {
        const { call } = await tryVerifier(p, code);
        expect(await call, code).to.match(/^0x[0-9a-f]{64}$/);
      }
      const impure: [string, number, number][] = [
        ["0x005b54", 2, 0x54], // a JUMPDEST makes what follows reachable again
        ["0x605b54", 2, 0x54], // PUSH1 0x5b, then a real SLOAD
        ["0x5f5754", 2, 0x54], // JUMPI falls through
        ["0x5f5f5f5f5f5f5ff4", 7, 0xf4], // a delegating proxy's DELEGATECALL
        ["0x00fe5b5ff1", 4, 0xf1], // a CALL gadget hidden behind INVALID and a JUMPDEST
        [`0xef0100${"11".repeat(20)}`, 0, 0xef], // an EIP-7702 delegation designator
      ];
      for (const [code, offset, op] of impure) {
        const { address, call } = await tryVerifier(p, code);
        await expect(call, code)
          .to.be.revertedWithCustomError(p.models, "VerifierNotPure")
          .withArgs(address, offset, op);
      }
    });

    it("accepts a STATICCALL only to an address it proves is a constant precompile", async () => {
      const p = await loadFixture(deployProtocol);
      // STATICCALL(gas, address, argsOffset, argsSize, retOffset, retSize): four PUSH0 for the memory ranges, then
      // the address, then GAS.
      const args = "5f5f5f5f";
      const pure = [
        `0x${args}60085afa00`, // PUSH1 0x08 (pairing), GAS, STATICCALL
        `0x${args}60015afa00`, // ecrecover
        `0x${args}60115afa00`, // 0x11, the last BLS12-381 precompile
        `0x${args}6007805f5090505afa00`, // the address moved by DUP1, PUSH0, POP, SWAP1, POP stays provable
        `0x${args}7f${"00".repeat(31)}085afa00`, // PUSH32 of 8
      ];
      for (const code of pure) {
        const { call } = await tryVerifier(p, code);
        expect(await call, code).to.match(/^0x[0-9a-f]{64}$/);
      }
      const impure: [string, number][] = [
        ["0x5ffa00", 1], // an address deeper than anything pushed: unknown
        [`0x${args}5f5afa00`, 6], // address 0
        [`0x${args}60125afa00`, 7], // 0x12: not a precompile
        [`0x${args}73${"11".repeat(20)}5afa00`, 26], // a contract fixed in the code (it may have a switch)
        [`0x${args}5f355afa00`, 7], // an address read from calldata (the caller chooses it)
        [`0x${args}60085b5afa00`, 8], // pushed before a JUMPDEST: any jump may land there with another stack
        [`0x${args}60083090505afa00`, 10], // SWAP1 brings ADDRESS's unknown result up as the address
      ];
      for (const [code, offset] of impure) {
        const { address, call } = await tryVerifier(p, code);
        await expect(call, code)
          .to.be.revertedWithCustomError(p.models, "VerifierNotPure")
          .withArgs(address, offset, 0xfa);
      }
    });

    it("refuses verifiers whose answers live in storage or behind a proxy", async () => {
      const p = await loadFixture(deployProtocol);
      const switchVerifier = await ethers.deployContract("SwitchVerifier");
      const address = await switchVerifier.getAddress();
      await expect(
        p.models.connect(p.modelOwner).registerModel(
          modelSpec({
            modes: VerificationMode.Zk,
            zkCommitment: ZK_COMMITMENT,
            zkVerifier: address as Address,
            zkVerifierCodeHash: await codeHashOf(address),
          }),
        ),
      ).to.be.revertedWithCustomError(p.models, "VerifierNotPure");
      const acceptAll = await ethers.deployContract("AcceptAllVerifier");
      const pure = await acceptAll.getAddress();
      // A verifier that accepts everything is pure: the model owner commits to it, and consumers see its code hash.
      await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({
          modes: VerificationMode.Zk,
          zkCommitment: ZK_COMMITMENT,
          zkVerifier: pure as Address,
          zkVerifierCodeHash: await codeHashOf(pure),
        }),
      );
    });
  });

  describe("setLatest", () => {
    it("points latest at another active version of the family", async () => {
      const p = await loadFixture(twoVersionsFixture);
      expect((await p.models.getFamily(p.familyId)).latest).to.equal(p.modelId2);
      await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, p.modelId))
        .to.emit(p.models, "LatestVersionSet")
        .withArgs(p.familyId, p.modelId);
      const f = await p.models.getFamily(p.familyId);
      expect([f.latest, f.versionCount]).to.deep.equal([p.modelId, 2n]);
      // Re-pointing at the current latest is allowed (and announced again).
      await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, p.modelId))
        .to.emit(p.models, "LatestVersionSet")
        .withArgs(p.familyId, p.modelId);
    });

    it("refuses an unknown family", async () => {
      const p = await loadFixture(twoVersionsFixture);
      const unknown = computeFamilyId(p.modelOwner.address as Address, "no-such-family");
      await expect(p.models.connect(p.modelOwner).setLatest(unknown, p.modelId))
        .to.be.revertedWithCustomError(p.models, "UnknownFamily")
        .withArgs(unknown);
    });

    it("refuses anyone but the family owner", async () => {
      const p = await loadFixture(twoVersionsFixture);
      await expect(p.models.connect(p.other).setLatest(p.familyId, p.modelId))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
    });

    it("refuses an unknown model", async () => {
      const p = await loadFixture(twoVersionsFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, unknown))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
    });

    it("refuses a version of another family, the owner's own or someone else's", async () => {
      const p = await loadFixture(twoVersionsFixture);
      const ownOther = await registerModel(p.models, p.modelOwner, modelSpec({ name: "other-family" }));
      const foreign = await registerModel(p.models, p.other, p.spec);
      for (const id of [ownOther, foreign]) {
        await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, id))
          .to.be.revertedWithCustomError(p.models, "WrongFamily")
          .withArgs(id, p.familyId);
      }
    });

    it("refuses deprecated and revoked versions", async () => {
      const p = await loadFixture(twoVersionsFixture);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, ModelStatus.Deprecated);
      await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, p.modelId))
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, ModelStatus.Deprecated);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, ModelStatus.Revoked);
      await expect(p.models.connect(p.modelOwner).setLatest(p.familyId, p.modelId))
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, ModelStatus.Revoked);
      expect((await p.models.getFamily(p.familyId)).latest).to.equal(p.modelId2);
    });

    it("leaves latest pointing at a version that is later deprecated or revoked", async () => {
      // Status changes do not touch the family: `latest` can name a version that no longer accepts
      // requests until the owner points it elsewhere.
      const p = await loadFixture(twoVersionsFixture);
      await p.models.connect(p.modelOwner).setStatus(p.modelId2, ModelStatus.Revoked);
      expect((await p.models.getFamily(p.familyId)).latest).to.equal(p.modelId2);
      await p.models.connect(p.modelOwner).setLatest(p.familyId, p.modelId);
      expect((await p.models.getFamily(p.familyId)).latest).to.equal(p.modelId);
    });
  });

  describe("setStatus", () => {
    it("moves Active to Deprecated and back, emitting each change", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await expect(owner.setStatus(p.modelId, ModelStatus.Deprecated))
        .to.emit(p.models, "ModelStatusChanged")
        .withArgs(p.modelId, ModelStatus.Deprecated);
      expect(await p.models.statusOf(p.modelId)).to.equal(ModelStatus.Deprecated);
      expect((await p.models.getModel(p.modelId)).status).to.equal(BigInt(ModelStatus.Deprecated));
      await expect(owner.setStatus(p.modelId, ModelStatus.Active))
        .to.emit(p.models, "ModelStatusChanged")
        .withArgs(p.modelId, ModelStatus.Active);
      expect(await p.models.statusOf(p.modelId)).to.equal(ModelStatus.Active);
    });

    it("revokes from Active and from Deprecated", async () => {
      const p = await loadFixture(twoVersionsFixture);
      const owner = p.models.connect(p.modelOwner);
      await expect(owner.setStatus(p.modelId, ModelStatus.Revoked))
        .to.emit(p.models, "ModelStatusChanged")
        .withArgs(p.modelId, ModelStatus.Revoked);
      await owner.setStatus(p.modelId2, ModelStatus.Deprecated);
      await expect(owner.setStatus(p.modelId2, ModelStatus.Revoked))
        .to.emit(p.models, "ModelStatusChanged")
        .withArgs(p.modelId2, ModelStatus.Revoked);
      expect(await p.models.statusOf(p.modelId)).to.equal(ModelStatus.Revoked);
      expect(await p.models.statusOf(p.modelId2)).to.equal(ModelStatus.Revoked);
    });

    it("keeps Revoked final", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await owner.setStatus(p.modelId, ModelStatus.Revoked);
      for (const to of [ModelStatus.None, ModelStatus.Active, ModelStatus.Deprecated, ModelStatus.Revoked]) {
        await expect(owner.setStatus(p.modelId, to))
          .to.be.revertedWithCustomError(p.models, "InvalidStatusTransition")
          .withArgs(ModelStatus.Revoked, to);
      }
      expect(await p.models.statusOf(p.modelId)).to.equal(ModelStatus.Revoked);
    });

    it("never sets None and rejects a change to the same status", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await expect(owner.setStatus(p.modelId, ModelStatus.None))
        .to.be.revertedWithCustomError(p.models, "InvalidStatusTransition")
        .withArgs(ModelStatus.Active, ModelStatus.None);
      await expect(owner.setStatus(p.modelId, ModelStatus.Active))
        .to.be.revertedWithCustomError(p.models, "InvalidStatusTransition")
        .withArgs(ModelStatus.Active, ModelStatus.Active);
      await owner.setStatus(p.modelId, ModelStatus.Deprecated);
      await expect(owner.setStatus(p.modelId, ModelStatus.None))
        .to.be.revertedWithCustomError(p.models, "InvalidStatusTransition")
        .withArgs(ModelStatus.Deprecated, ModelStatus.None);
      await expect(owner.setStatus(p.modelId, ModelStatus.Deprecated))
        .to.be.revertedWithCustomError(p.models, "InvalidStatusTransition")
        .withArgs(ModelStatus.Deprecated, ModelStatus.Deprecated);
      expect(await p.models.statusOf(p.modelId)).to.equal(ModelStatus.Deprecated);
    });

    it("rejects a status outside the enum at ABI decoding", async () => {
      const p = await loadFixture(registryFixture);
      await expect(p.models.connect(p.modelOwner).setStatus(p.modelId, 4)).to.be.revertedWithoutReason(
        ethers,
      );
    });

    it("refuses unknown models and anyone but the owner", async () => {
      const p = await loadFixture(registryFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(p.models.connect(p.modelOwner).setStatus(unknown, ModelStatus.Deprecated))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
      await expect(p.models.connect(p.other).setStatus(p.modelId, ModelStatus.Revoked))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
    });
  });

  describe("setTerms", () => {
    it("changes fee and royalty of one version only, emitting ModelTermsUpdated", async () => {
      const p = await loadFixture(twoVersionsFixture);
      await expect(p.models.connect(p.modelOwner).setTerms(p.modelId, 42n * OPG, 2_500))
        .to.emit(p.models, "ModelTermsUpdated")
        .withArgs(p.modelId, 42n * OPG, 2_500);
      const m = await p.models.getModel(p.modelId);
      expect([m.fee, m.royaltyBps]).to.deep.equal([42n * OPG, 2_500n]);
      const m2 = await p.models.getModel(p.modelId2);
      expect([m2.fee, m2.royaltyBps]).to.deep.equal([MODEL_FEE, BigInt(ROYALTY_BPS)]);
      expect(
        await p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      ).to.deep.equal([p.modelOwner.address, 42n * OPG, 2_500n]);
    });

    it("allows a free model, the full uint96 fee range and exactly 8000 bps", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await expect(owner.setTerms(p.modelId, 0n, 0))
        .to.emit(p.models, "ModelTermsUpdated")
        .withArgs(p.modelId, 0n, 0);
      const maxFee = 2n ** 96n - 1n;
      await expect(owner.setTerms(p.modelId, maxFee, MAX_ROYALTY_BPS))
        .to.emit(p.models, "ModelTermsUpdated")
        .withArgs(p.modelId, maxFee, MAX_ROYALTY_BPS);
      const m = await p.models.getModel(p.modelId);
      expect([m.fee, m.royaltyBps]).to.deep.equal([maxFee, BigInt(MAX_ROYALTY_BPS)]);
    });

    it("refuses a royalty above 8000 bps and leaves the terms unchanged", async () => {
      const p = await loadFixture(registryFixture);
      await expect(p.models.connect(p.modelOwner).setTerms(p.modelId, 1n, MAX_ROYALTY_BPS + 1))
        .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
        .withArgs(MAX_ROYALTY_BPS + 1, MAX_ROYALTY_BPS);
      await expect(p.models.connect(p.modelOwner).setTerms(p.modelId, 1n, 10_000))
        .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
        .withArgs(10_000, MAX_ROYALTY_BPS);
      const m = await p.models.getModel(p.modelId);
      expect([m.fee, m.royaltyBps]).to.deep.equal([MODEL_FEE, BigInt(ROYALTY_BPS)]);
    });

    it("refuses unknown models and anyone but the owner", async () => {
      const p = await loadFixture(registryFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(p.models.connect(p.modelOwner).setTerms(unknown, 1n, 1))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
      await expect(p.models.connect(p.other).setTerms(p.modelId, 0n, 0))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
    });
  });

  describe("setGate", () => {
    it("sets each valid gate, emitting ModelGateUpdated", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      for (const [gate, min] of [
        [GateKind.MinBalance, 1n],
        [GateKind.MinBalance, 2n ** 96n - 1n],
        [GateKind.Allowlist, 0n],
        [GateKind.None, 0n],
      ] as const) {
        await expect(owner.setGate(p.modelId, gate, min))
          .to.emit(p.models, "ModelGateUpdated")
          .withArgs(p.modelId, gate, min);
        const m = await p.models.getModel(p.modelId);
        expect([m.gate, m.gateMinBalance]).to.deep.equal([BigInt(gate), min]);
      }
    });

    it("requires a positive minimum for MinBalance and none for the other gates", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await owner.setGate(p.modelId, GateKind.MinBalance, 5n);
      for (const [gate, min] of [
        [GateKind.MinBalance, 0n],
        [GateKind.None, 1n],
        [GateKind.Allowlist, 1n],
        [GateKind.Allowlist, 100n * OPG],
      ] as const) {
        await expect(owner.setGate(p.modelId, gate, min)).to.be.revertedWithCustomError(
          p.models,
          "InvalidGate",
        );
      }
      const m = await p.models.getModel(p.modelId);
      expect([m.gate, m.gateMinBalance]).to.deep.equal([BigInt(GateKind.MinBalance), 5n]);
    });

    it("refuses unknown models and anyone but the owner", async () => {
      const p = await loadFixture(registryFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(p.models.connect(p.modelOwner).setGate(unknown, GateKind.Allowlist, 0n))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
      await expect(p.models.connect(p.other).setGate(p.modelId, GateKind.Allowlist, 0n))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
    });
  });

  describe("setAllowed", () => {
    it("adds and removes accounts, one event per account", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      const accounts = [p.requester.address, p.other.address];
      const add = owner.setAllowed(p.familyId, accounts, true);
      await expect(add).to.emit(p.models, "AllowlistUpdated").withArgs(p.familyId, p.requester.address, true);
      await expect(add).to.emit(p.models, "AllowlistUpdated").withArgs(p.familyId, p.other.address, true);
      expect(await p.models.isAllowed(p.familyId, p.requester.address)).to.equal(true);
      expect(await p.models.isAllowed(p.familyId, p.other.address)).to.equal(true);
      expect(await p.models.isAllowed(p.familyId, p.reporter.address)).to.equal(false);

      const remove = await owner.setAllowed(p.familyId, [p.other.address], false);
      await expect(remove).to.emit(p.models, "AllowlistUpdated").withArgs(p.familyId, p.other.address, false);
      const events = (await remove.wait())!.logs;
      expect(events).to.have.length(1);
      expect(await p.models.isAllowed(p.familyId, p.other.address)).to.equal(false);
      expect(await p.models.isAllowed(p.familyId, p.requester.address)).to.equal(true);
    });

    it("accepts an empty batch without events", async () => {
      const p = await loadFixture(registryFixture);
      const tx = await p.models.connect(p.modelOwner).setAllowed(p.familyId, [], true);
      expect((await tx.wait())!.logs).to.have.length(0);
    });

    it("takes up to 256 accounts per batch and refuses 257", async () => {
      const p = await loadFixture(registryFixture);
      const accounts = Array.from(
        { length: MAX_ALLOWLIST_BATCH + 1 },
        (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`,
      );
      await expect(p.models.connect(p.modelOwner).setAllowed(p.familyId, accounts, true))
        .to.be.revertedWithCustomError(p.models, "BatchTooLarge")
        .withArgs(MAX_ALLOWLIST_BATCH + 1, MAX_ALLOWLIST_BATCH);
      const batch = accounts.slice(0, MAX_ALLOWLIST_BATCH);
      const receipt = await (await p.models.connect(p.modelOwner).setAllowed(p.familyId, batch, true)).wait();
      const logs = receipt!.logs.map((log) => p.models.interface.parseLog(log));
      expect(logs).to.have.length(MAX_ALLOWLIST_BATCH);
      logs.forEach((log, i) => {
        expect(log?.name).to.equal("AllowlistUpdated");
        expect(log?.args.getValue("account")).to.equal(ethers.getAddress(batch[i]!));
        expect(log?.args.getValue("allowed")).to.equal(true);
      });
      expect(await p.models.isAllowed(p.familyId, batch[0]!)).to.equal(true);
      expect(await p.models.isAllowed(p.familyId, batch[MAX_ALLOWLIST_BATCH - 1]!)).to.equal(true);
      expect(await p.models.isAllowed(p.familyId, accounts[MAX_ALLOWLIST_BATCH]!)).to.equal(false);
    });

    it("refuses an unknown family and anyone but the family owner", async () => {
      const p = await loadFixture(registryFixture);
      const unknown = computeFamilyId(p.other.address as Address, p.spec.name);
      await expect(p.models.connect(p.other).setAllowed(unknown, [p.other.address], true))
        .to.be.revertedWithCustomError(p.models, "UnknownFamily")
        .withArgs(unknown);
      await expect(p.models.connect(p.other).setAllowed(p.familyId, [p.other.address], true))
        .to.be.revertedWithCustomError(p.models, "NotModelOwner")
        .withArgs(p.other.address, p.modelOwner.address);
      expect(await p.models.isAllowed(p.familyId, p.other.address)).to.equal(false);
    });
  });

  describe("requestTerms", () => {
    it("returns owner, fee and royalty for an allowed mode", async () => {
      const p = await loadFixture(registryFixture);
      const [owner, fee, royalty] = await p.models.requestTerms(
        p.modelId,
        p.requester.address,
        VerificationMode.Signature,
        INPUT_HASH,
      );
      expect([owner, fee, royalty]).to.deep.equal([p.modelOwner.address, MODEL_FEE, BigInt(ROYALTY_BPS)]);
    });

    it("refuses an unknown model", async () => {
      const p = await loadFixture(registryFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(
        p.models.requestTerms(unknown, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
    });

    it("refuses deprecated and revoked versions, and serves a reactivated one again", async () => {
      const p = await loadFixture(registryFixture);
      const owner = p.models.connect(p.modelOwner);
      await owner.setStatus(p.modelId, ModelStatus.Deprecated);
      await expect(
        p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, ModelStatus.Deprecated);
      await owner.setStatus(p.modelId, ModelStatus.Active);
      expect(
        (
          await p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH)
        )[1],
      ).to.equal(MODEL_FEE);
      await owner.setStatus(p.modelId, ModelStatus.Revoked);
      await expect(
        p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, ModelStatus.Revoked);
    });

    it("refuses a mode the version does not allow", async () => {
      const p = await loadFixture(registryFixture);
      for (const mode of [VerificationMode.Zk, 0, 4, 0x80]) {
        await expect(p.models.requestTerms(p.modelId, p.requester.address, mode, INPUT_HASH))
          .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
          .withArgs(p.modelId, mode, VerificationMode.Signature);
      }
    });

    it("serves each mode of a version that allows both", async () => {
      const p = await loadFixture(registryFixture);
      const id = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({ name: "zk", modes: 3, zkCommitment: ZK_COMMITMENT, ...(await deployVerifier()) }),
      );
      for (const mode of [VerificationMode.Signature, VerificationMode.Zk]) {
        expect((await p.models.requestTerms(id, p.requester.address, mode, INPUT_HASH))[0]).to.equal(
          p.modelOwner.address,
        );
      }
      await expect(p.models.requestTerms(id, p.requester.address, 4, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
        .withArgs(id, 4, 3);
    });

    it("refuses a zk input outside the BN254 field, and only for zk", async () => {
      const p = await loadFixture(registryFixture);
      const id = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({ name: "zk", modes: 3, zkCommitment: ZK_COMMITMENT, ...(await deployVerifier()) }),
      );
      const largest = fieldToBytes32(SNARK_SCALAR_FIELD - 1n);
      expect(
        (await p.models.requestTerms(id, p.requester.address, VerificationMode.Zk, largest))[1],
      ).to.equal(MODEL_FEE);
      for (const inputHash of [
        `0x${SNARK_SCALAR_FIELD.toString(16).padStart(64, "0")}`,
        `0x${"f".repeat(64)}`,
      ] as const) {
        await expect(p.models.requestTerms(id, p.requester.address, VerificationMode.Zk, inputHash))
          .to.be.revertedWithCustomError(p.models, "InputNotInField")
          .withArgs(inputHash);
        expect(
          (await p.models.requestTerms(id, p.requester.address, VerificationMode.Signature, inputHash))[1],
        ).to.equal(MODEL_FEE);
      }
    });

    it("rejects a mode mask with several bits, even one that intersects the allowed set", async () => {
      const p = await loadFixture(registryFixture);
      await expect(p.models.requestTerms(p.modelId, p.requester.address, 3, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
        .withArgs(p.modelId, 3, VerificationMode.Signature);
      await expect(p.models.requestTerms(p.modelId, p.requester.address, 0, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
        .withArgs(p.modelId, 0, VerificationMode.Signature);
    });

    it("enforces a min-balance gate against the live token balance, reporting the exact balance", async () => {
      const p = await loadFixture(registryFixture);
      const balance = await p.token.balanceOf(p.requester.address);
      expect(balance).to.equal(100_000n * OPG);
      await p.models.connect(p.modelOwner).setGate(p.modelId, GateKind.MinBalance, balance + 1n);
      await expect(
        p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "BalanceBelowGate")
        .withArgs(p.requester.address, balance, balance + 1n);
      // An account with no tokens at all.
      await expect(p.models.requestTerms(p.modelId, p.payout.address, VerificationMode.Signature, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "BalanceBelowGate")
        .withArgs(p.payout.address, 0n, balance + 1n);
      // Exactly the minimum passes.
      await p.token.connect(p.other).transfer(p.requester.address, 1n);
      const [owner, fee, royalty] = await p.models.requestTerms(
        p.modelId,
        p.requester.address,
        VerificationMode.Signature,
        INPUT_HASH,
      );
      expect([owner, fee, royalty]).to.deep.equal([p.modelOwner.address, MODEL_FEE, BigInt(ROYALTY_BPS)]);
      // Dropping below again fails again.
      await p.token.connect(p.requester).transfer(p.other.address, 2n);
      await expect(
        p.models.requestTerms(p.modelId, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "BalanceBelowGate")
        .withArgs(p.requester.address, balance - 1n, balance + 1n);
    });

    it("enforces an allowlist gate, shared by all versions of the family", async () => {
      const p = await loadFixture(twoVersionsFixture);
      const owner = p.models.connect(p.modelOwner);
      await owner.setGate(p.modelId, GateKind.Allowlist, 0n);
      await owner.setGate(p.modelId2, GateKind.Allowlist, 0n);
      for (const id of [p.modelId, p.modelId2]) {
        await expect(p.models.requestTerms(id, p.requester.address, VerificationMode.Signature, INPUT_HASH))
          .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
          .withArgs(p.requester.address);
      }
      await owner.setAllowed(p.familyId, [p.requester.address], true);
      for (const id of [p.modelId, p.modelId2]) {
        expect(
          (await p.models.requestTerms(id, p.requester.address, VerificationMode.Signature, INPUT_HASH))[0],
        ).to.equal(p.modelOwner.address);
      }
      // A version registered later in the family inherits the list.
      const id3 = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({ fileHash: keccak256(toHex("v3")) }),
      );
      await owner.setGate(id3, GateKind.Allowlist, 0n);
      expect(
        (await p.models.requestTerms(id3, p.requester.address, VerificationMode.Signature, INPUT_HASH))[0],
      ).to.equal(p.modelOwner.address);
      await expect(p.models.requestTerms(id3, p.other.address, VerificationMode.Signature, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
        .withArgs(p.other.address);
      // Removal applies to all versions at once.
      await owner.setAllowed(p.familyId, [p.requester.address], false);
      await expect(
        p.models.requestTerms(p.modelId2, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
        .withArgs(p.requester.address);
    });

    it("does not share an allowlist across families", async () => {
      const p = await loadFixture(registryFixture);
      const otherFamilyModel = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({ name: "other-family" }),
      );
      await p.models.connect(p.modelOwner).setGate(otherFamilyModel, GateKind.Allowlist, 0n);
      await p.models.connect(p.modelOwner).setAllowed(p.familyId, [p.requester.address], true);
      await expect(
        p.models.requestTerms(otherFamilyModel, p.requester.address, VerificationMode.Signature, INPUT_HASH),
      )
        .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
        .withArgs(p.requester.address);
    });

    it("applies a gate to its own version only, and ignores the allowlist without an allowlist gate", async () => {
      const p = await loadFixture(twoVersionsFixture);
      await p.models.connect(p.modelOwner).setGate(p.modelId, GateKind.Allowlist, 0n);
      await expect(p.models.requestTerms(p.modelId, p.other.address, VerificationMode.Signature, INPUT_HASH))
        .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
        .withArgs(p.other.address);
      expect(
        (await p.models.requestTerms(p.modelId2, p.other.address, VerificationMode.Signature, INPUT_HASH))[0],
      ).to.equal(p.modelOwner.address);
      await p.models.connect(p.modelOwner).setGate(p.modelId, GateKind.None, 0n);
      expect(
        (await p.models.requestTerms(p.modelId, p.other.address, VerificationMode.Signature, INPUT_HASH))[0],
      ).to.equal(p.modelOwner.address);
    });
  });

  describe("views", () => {
    it("reverts getModel and getFamily for unknown ids; statusOf and isAllowed return defaults", async () => {
      const p = await loadFixture(registryFixture);
      const unknownModel = keccak256(toHex("no such model"));
      const unknownFamily = computeFamilyId(p.other.address as Address, "nothing");
      await expect(p.models.getModel(unknownModel))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknownModel);
      await expect(p.models.getFamily(unknownFamily))
        .to.be.revertedWithCustomError(p.models, "UnknownFamily")
        .withArgs(unknownFamily);
      // A model id is not a family id, and vice versa.
      await expect(p.models.getFamily(p.modelId))
        .to.be.revertedWithCustomError(p.models, "UnknownFamily")
        .withArgs(p.modelId);
      await expect(p.models.getModel(p.familyId))
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(p.familyId);
      expect(await p.models.statusOf(unknownModel)).to.equal(BigInt(ModelStatus.None));
      expect(await p.models.statusOf(ZERO_HASH)).to.equal(BigInt(ModelStatus.None));
      expect(await p.models.isAllowed(unknownFamily, p.requester.address)).to.equal(false);
    });
  });
});
