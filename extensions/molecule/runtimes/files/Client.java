// A device-side TLS client with the JVM's default SSLContext and host name checking.
// Prints "ok <protocol>" or "fail <exception>".
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

public class Client {
    public static void main(String[] args) {
        SSLSocketFactory factory = (SSLSocketFactory) SSLSocketFactory.getDefault();
        try (SSLSocket socket = (SSLSocket) factory.createSocket(args[0], Integer.parseInt(args[1]))) {
            SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(params);
            socket.setSoTimeout(10000);
            socket.startHandshake();
            System.out.println("ok " + socket.getSession().getProtocol());
        } catch (Exception e) {
            System.out.println("fail " + e);
            System.exit(2);
        }
    }
}
