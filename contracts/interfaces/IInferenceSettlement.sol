// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Inference settlement interface
/// @notice Requesters escrow OPG for an inference from a committed model version; a verified result pays
/// the operator, the model owner's royalty and the protocol; an expired request refunds. Payments are
/// credited to an internal ledger and withdrawn (pull payments).
interface IInferenceSettlement {
    /// @notice Where a request stands. A pending request is stored only as the hash of its `Request`.
    enum RequestStatus {
        None,
        Pending,
        Fulfilled,
        FulfilledCallbackFailed,
        Refunded
    }

    /// @notice What a requester asks for.
    /// @param modelId The model version to run.
    /// @param inputHash The committed input.
    /// @param maxFee The most the requester accepts to pay (the version's fee can change until inclusion).
    /// @param deadline Unix time after which the request can no longer be fulfilled and can be refunded.
    /// @param mode The verification the result must pass (one `VerificationModes` bit the model allows).
    /// @param operator Only this operator may fulfil; zero for any eligible operator.
    /// @param callback Contract to call with the result; zero for none.
    /// @param callbackGasLimit Exact gas the callback receives.
    /// @param inputUri Where the input can be read (emitted, not stored); a `data:` URI puts it on chain.
    struct RequestParams {
        bytes32 modelId;
        bytes32 inputHash;
        uint96 maxFee;
        uint64 deadline;
        uint8 mode;
        address operator;
        address callback;
        uint32 callbackGasLimit;
        string inputUri;
    }

    /// @notice A pending request as committed on chain (its hash is the only storage it uses). The terms
    /// in force when it was opened travel with it, so later changes never alter a pending request.
    struct Request {
        address requester;
        uint96 fee;
        address modelOwner;
        uint16 royaltyBps;
        uint16 protocolFeeBps;
        uint8 mode;
        uint64 deadline;
        bytes32 modelId;
        bytes32 inputHash;
        address operator;
        address callback;
        uint32 callbackGasLimit;
    }

    /// @notice A result as posted by its operator.
    /// @param operator The operator (staking account) the result is from.
    /// @param outputHash keccak256 of the output bytes.
    /// @param output The output bytes inline, or empty when only `outputUri` carries them.
    /// @param outputUri Where the output can be read (emitted, not stored).
    struct Result {
        address operator;
        bytes32 outputHash;
        bytes output;
        string outputUri;
    }

    /// @notice An EIP-2612 permit for the OPG token, spent in the same transaction.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A Groth16 proof in the layout the generated verifiers take.
    struct ZkProof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice The fields of a signed result that identify what ran (with the request id and operator).
    struct ResultClaim {
        bytes32 modelId;
        bytes32 inputHash;
        bytes32 outputHash;
    }

    /// @notice OPG was credited to `account`'s ledger balance.
    event Deposited(address indexed account, address indexed from, uint256 amount);
    /// @notice OPG left `account`'s ledger balance.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice A request was opened and its fee escrowed.
    event RequestOpened(
        uint256 indexed requestId,
        address indexed requester,
        bytes32 indexed modelId,
        Request request,
        string inputUri
    );
    /// @notice A request was settled with a verified result. The fee split follows from the request's
    /// committed terms: royalty = fee·royaltyBps/10⁴, protocol = fee·protocolFeeBps/10⁴, operator = the rest.
    /// @param signer The key that signed the result (zero for modes without a signature).
    event RequestFulfilled(
        uint256 indexed requestId,
        address indexed operator,
        address payout,
        address signer,
        bytes32 outputHash,
        bytes output,
        string outputUri
    );
    /// @notice The consumer's callback reverted, ran out of gas or had no code. Settlement stands.
    event CallbackFailed(uint256 indexed requestId);
    /// @notice An unfulfilled request's fee went back to its requester's ledger balance.
    event RequestRefunded(uint256 indexed requestId, address indexed requester, uint256 amount);
    /// @notice Accrued protocol fees were sent to the treasury.
    event ProtocolFeesCollected(address indexed treasury, uint256 amount);
    /// @notice An operator was slashed for signing two different results for one request.
    event EquivocationSlashed(
        address indexed operator,
        uint256 indexed requestId,
        address indexed reporter,
        uint256 slashed,
        uint256 reward
    );
    /// @notice Governance changed the protocol fee (for requests opened from now on).
    event ProtocolFeeSet(uint16 protocolFeeBps);
    /// @notice Governance changed the treasury.
    event TreasurySet(address treasury);
    /// @notice Governance changed the equivocation penalty and the reporter's share of it.
    event SlashParamsSet(uint96 penalty, uint16 reporterRewardBps);

    /// @notice Amount is zero.
    error InvalidAmount();
    /// @notice A zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice The ledger balance is too small.
    error InsufficientBalance(uint256 available, uint256 required);
    /// @notice The model's fee is above the requester's maximum.
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    /// @notice The deadline is in the past or too far ahead.
    error InvalidDeadline(uint64 deadline, uint64 latest);
    /// @notice The mode is not exactly one known verification mode.
    error InvalidMode(uint8 mode);
    /// @notice A callback gas limit without a callback, or one above the cap.
    error InvalidCallback(address callback, uint32 gasLimit, uint32 maxGasLimit);
    /// @notice The request is not pending (never opened, or already settled or refunded).
    error RequestNotPending(uint256 requestId, RequestStatus status);
    /// @notice The request data does not match what was committed.
    error RequestMismatch(uint256 requestId);
    /// @notice The deadline has passed.
    error RequestExpired(uint256 requestId, uint64 deadline);
    /// @notice The deadline has not passed (and the model is not revoked).
    error RequestNotExpired(uint256 requestId, uint64 deadline);
    /// @notice The result was verified in another mode than the request requires.
    error WrongMode(uint256 requestId, uint8 required);
    /// @notice The request is reserved for another operator.
    error OperatorNotAssigned(uint256 requestId, address assigned);
    /// @notice The inline output does not hash to `outputHash`.
    error OutputHashMismatch(bytes32 outputHash, bytes32 computed);
    /// @notice The signature is malformed, malleable (high s) or does not recover.
    error InvalidSignature();
    /// @notice The model version was revoked; the request can only be refunded.
    error ModelRevoked(bytes32 modelId);
    /// @notice The transaction's gas cannot give the callback its full limit.
    error InsufficientGasForCallback(uint256 gasLeft, uint256 required);
    /// @notice The protocol fee is above the cap.
    error ProtocolFeeTooHigh(uint16 protocolFeeBps, uint16 maxBps);
    /// @notice The reporter's share is above 100%.
    error RewardTooHigh(uint16 rewardBps);
    /// @notice The two claims are the same result: no equivocation.
    error NotEquivocation();
    /// @notice A claim was not signed by a key of the accused operator.
    error InvalidEvidence(address signer);
    /// @notice This operator was already slashed for this request.
    error EvidenceAlreadyUsed(uint256 requestId, address operator);
    /// @notice Governance cannot be renounced, only transferred.
    error RenounceDisabled();
    /// @notice No protocol fees have accrued.
    error NothingToCollect();
    /// @notice A zk request's input commitment is not a BN254 field element.
    error InputNotInField(bytes32 inputHash);
    /// @notice A public signal is not below the BN254 field modulus.
    error PublicSignalOutOfField(uint256 index, uint256 value);
    /// @notice The verifier rejected the proof.
    error InvalidProof();

    /// @notice Credit the caller's ledger balance with `amount` OPG pulled by `transferFrom`.
    function deposit(uint256 amount) external;

    /// @notice Credit `account`'s ledger balance with `amount` OPG pulled from the caller.
    function depositFor(address account, uint256 amount) external;

    /// @notice Deposit with an EIP-2612 permit in the same transaction (a front-run permit is tolerated).
    function depositWithPermit(uint256 amount, Permit calldata permit) external;

    /// @notice Send `amount` of the caller's ledger balance to `to`.
    function withdraw(address to, uint256 amount) external;

    /// @notice Open a request paid from the caller's ledger balance.
    /// @return requestId The new request's id.
    function openRequest(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice Open a request paid by `transferFrom` of the fee.
    function openRequestWithTransfer(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice Open a request paid with an EIP-2612 permit in the same transaction. A permit already
    /// used by someone else (front-run) does not make the request fail while the allowance is there.
    function openRequestWithPermit(
        RequestParams calldata params,
        Permit calldata permit
    ) external returns (uint256 requestId);

    /// @notice Settle a request with a result signed (EIP-712) by the current key of a staked operator.
    /// @param request The request exactly as committed (from its `RequestOpened` event).
    /// @param requestId The request's id.
    /// @param result The operator and output.
    /// @param signature 65-byte ECDSA signature over the `InferenceResult` typed data.
    function fulfillSigned(
        Request calldata request,
        uint256 requestId,
        Result calldata result,
        bytes calldata signature
    ) external;

    /// @notice Settle a request with a zk proof that the committed model produced `output` from the committed
    /// input. The proof is bound to this request and to `msg.sender`, who is credited the operator's share.
    /// @param request The request exactly as committed.
    /// @param requestId The request's id.
    /// @param output The result (public signal 0); emitted as `abi.encode(output)`.
    /// @param proof The Groth16 proof.
    function fulfillZk(Request calldata request, uint256 requestId, uint256 output, ZkProof calldata proof) external;

    /// @notice Return an unfulfilled request's fee to its requester's ledger balance. Anyone may call
    /// it after the deadline, or at once when the model version was revoked.
    function refund(Request calldata request, uint256 requestId) external;

    /// @notice Slash an operator whose key signed two different results for the same request.
    function reportEquivocation(
        uint256 requestId,
        address operator,
        ResultClaim calldata a,
        bytes calldata signatureA,
        ResultClaim calldata b,
        bytes calldata signatureB
    ) external;

    /// @notice Send accrued protocol fees to the treasury. Anyone may call it.
    function collectProtocolFees() external;

    /// @notice The EIP-712 digest an operator signs for a result.
    function resultDigest(
        uint256 requestId,
        bytes32 modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        address operator
    ) external view returns (bytes32);

    /// @notice The public signal that binds a zk proof to one request and one submitter:
    /// `uint256(keccak256(abi.encode(requestId, submitter))) >> 3`.
    function zkBinding(uint256 requestId, address submitter) external pure returns (uint256);

    /// @notice Where a request stands.
    function requestStatus(uint256 requestId) external view returns (RequestStatus);

    /// @notice The hash a request is committed as (`keccak256(abi.encode(request))`).
    function hashRequest(Request calldata request) external pure returns (bytes32);

    /// @notice An account's ledger balance (prepaid OPG, earnings, royalties and refunds).
    function balances(address account) external view returns (uint256);
}
